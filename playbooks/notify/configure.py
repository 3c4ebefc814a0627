"""The composition root's side of notifications: ``[notify]`` + secrets → :class:`playbooks.notify.channels.NotifyConfig`.

The playbooks room may not read the environment or the secrets file; this module looks every secret up
by the name the configuration gives (``yuqing.secrets.get_secret``) and hands the channels over with the
values filled in. A missing secret does not stop the others: that channel carries a ``problem`` and its
messages fail with it (``缺少机密 …``), which ``yuqing notify test`` shows.
"""

from __future__ import annotations

import logging

from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy, SmtpSettings
from playbooks.notify.deliver import DeliveryReport, deliver_pending
from yuqing.background import Periodic
from yuqing.config import Settings
from yuqing.secrets import SecretError, get_secret, secret_env_name

log = logging.getLogger(__name__)


def _secret(settings: Settings, name: str) -> tuple[str, str]:
    """(value, problem): the secret called ``name``, or '' and a Chinese sentence saying what is missing."""
    if not name:
        return "", ""
    try:
        value = get_secret(name, secrets_file=settings.secrets_file)
    except SecretError as exc:
        return "", str(exc)
    if not value:
        return "", f"缺少机密 {name}（设置环境变量 {secret_env_name(name)} 或写入机密文件）"
    return value, ""


def notify_config(settings: Settings) -> NotifyConfig:
    n = settings.notify
    password, smtp_problem = _secret(settings, n.smtp.password_secret)
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
        webhook = secret = ""
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
            webhook, p = _secret(settings, c.webhook_secret)
            if p:
                problems.append(p)
            secret, p = _secret(settings, c.sign_secret)
            if p:
                problems.append(p)
        channels.append(
            Channel(
                name=c.name,
                kind=c.kind,
                webhook=webhook,
                secret=secret,
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


class OutboxPump(Periodic):
    """Delivers the outbox every ``notify.deliver_every_seconds`` in a daemon thread (``yuqing schedule``).

    A crawl run can take minutes; a clock breach's message must not wait for it.
    """

    name = "outbox-pump"

    def __init__(self, records, settings: Settings, *, every: float | None = None):
        self.records = records
        self.config = notify_config(settings)
        super().__init__(every if every is not None else settings.notify.deliver_every_seconds)

    def once(self) -> DeliveryReport | None:
        try:
            report = deliver_pending(self.records, self.config)
        except Exception:  # a records database that is down: try again next time
            log.exception("outbox delivery failed")
            return None
        self.passes += 1
        if report.outcomes:
            log.info("outbox: %s", report.summary())
        return report
