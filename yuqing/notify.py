"""The composition root's side of notifications: ``[notify]`` + secrets → the channels, and the outbox pump.

The playbooks room may not read the environment or the secrets file; here every secret is looked up by
the name the configuration gives (``yuqing.secrets.get_secret``) and handed to
``playbooks.notify.configure.notify_config``, which fills the channels in.
"""

from __future__ import annotations

from playbooks.notify import configure
from playbooks.notify.channels import NotifyConfig
from playbooks.notify.deliver import SessionSource
from playbooks.notify.pump import OutboxPump
from yuqing.config import Settings
from yuqing.secrets import SecretError, get_secret, secret_env_name


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
    """The configured channels with their secrets, read now (a secret changed since counts)."""
    return configure.notify_config(settings.notify, lambda name: _secret(settings, name))


def outbox_pump(records: SessionSource, settings: Settings, *, every: float | None = None) -> OutboxPump:
    """The pump beside `yuqing schedule`: every ``notify.deliver_every_seconds`` unless ``every`` says."""
    return OutboxPump(
        records,
        notify_config(settings),
        every=every if every is not None else settings.notify.deliver_every_seconds,
    )
