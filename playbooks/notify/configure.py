"""``[notify]`` settings → :class:`playbooks.notify.channels.NotifyConfig`: the channels with their secrets.

This room may not read the environment or the secrets file: the composition root hands in a lookup that
gives each secret by the name the configuration uses (yuqing/notify.py). A missing secret does not stop
the others: that channel carries a ``problem`` and its messages fail with it (``缺少机密 …``), which
``yuqing notify test`` shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy, SmtpSettings

# a secret's name → (its value, or "" and a Chinese sentence saying what is missing)
SecretLookup = Callable[[str], tuple[str, str]]


def notify_config(notify: Any, secret: SecretLookup) -> NotifyConfig:
    """The channels of ``notify`` (``yuqing.config.NotifyConfig``-like: ``[notify]`` with its channels and
    smtp), each secret filled in through ``secret``; a channel whose secret is missing carries the
    ``problem``."""
    n = notify  # [notify]
    password, smtp_problem = secret(n.smtp.password_secret)
    smtp = SmtpSettings(
        host=n.smtp.host,
        port=n.smtp.port,
        starttls=n.smtp.starttls,
        ssl=n.smtp.ssl,
        username=n.smtp.username,
        password=password,
        from_addr=n.smtp.from_addr,
        ca_file=n.smtp.ca_file,
        timeout_s=n.smtp.timeout_seconds,
    )
    channels: list[Channel] = []
    for c in n.channels:
        problems: list[str] = []
        webhook = sign = ""
        if c.kind == "email":
            if smtp_problem:
                problems.append(smtp_problem)
            if not n.smtp.host:
                problems.append("没有配置邮件服务器（notify.smtp.host）")
            if not c.to:
                problems.append(f"邮件通道 {c.name} 没有收件人（to）")
        else:
            if not c.webhook_secret:
                problems.append(f"通道 {c.name} 没有指定 webhook_secret")
            webhook, p = secret(c.webhook_secret)
            if p:
                problems.append(p)
            sign, p = secret(c.sign_secret)
            if p:
                problems.append(p)
        channels.append(
            Channel(
                name=c.name,
                kind=c.kind,
                webhook=webhook,
                secret=sign,
                format=c.format,
                to=tuple(c.to),
                smtp=smtp if c.kind == "email" else None,
                timeout_s=n.timeout_seconds,
                problem="；".join(problems),
            )
        )
    return NotifyConfig(
        channels=tuple(channels),
        retry=RetryPolicy(
            max_attempts=n.max_attempts,
            backoff_s=n.backoff_seconds,
            backoff_max_s=n.backoff_max_seconds,
            lease_s=max(300.0, n.timeout_seconds * 3, n.smtp.timeout_seconds * 3),
        ),
        smtp=smtp if n.smtp.host else None,
        smtp_problem=smtp_problem,
    )
