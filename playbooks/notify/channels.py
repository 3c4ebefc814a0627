"""The configured channels with their secrets already resolved, and what every channel module shares.

The composition root (``yuqing/notify.py``) reads ``[notify]`` from the configuration, looks the secrets
up by name (``yuqing.secrets``) and hands this room a :class:`NotifyConfig`; nothing here reads the
environment or a secrets file. A channel whose secret is missing is still listed, with ``problem`` saying
what is missing, so its messages fail with that reason instead of vanishing.

Every send returns nothing or raises :class:`SendError` whose message is a short Chinese reason with no
secret in it (:func:`redact` removes the webhook URL, its key and the signing secret from any text).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

BOT_KINDS = ("wecom", "dingtalk", "feishu")
KINDS = (*BOT_KINDS, "email")


class SendError(Exception):
    """A message was not delivered; ``str(exc)`` is a readable reason without secrets."""


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; the n-th retry waits ``backoff_s × 2^(n-1)``, at most ``backoff_max_s``."""

    max_attempts: int = 5
    backoff_s: float = 60.0
    backoff_max_s: float = 3600.0
    lease_s: float = 300.0  # a claimed row is someone's for this long (a crashed sender's row comes back)

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try."""
        return min(self.backoff_s * (2 ** max(attempts - 1, 0)), self.backoff_max_s)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465) instead of STARTTLS
    username: str = ""
    password: str = field(default="", repr=False)
    from_addr: str = ""
    ca_file: str = ""  # a private CA for the mail server's certificate; empty = the system's
    timeout_s: float = 15.0


@dataclass(frozen=True)
class Channel:
    """One configured channel: a group bot (webhook + optional signing secret) or an email list."""

    name: str
    kind: str  # wecom | dingtalk | feishu | email
    webhook: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)  # 钉钉/飞书 signing secret
    format: str = "markdown"  # markdown | text (飞书: markdown = an interactive card)
    to: tuple[str, ...] = ()  # email recipients
    smtp: SmtpSettings | None = None
    timeout_s: float = 10.0
    problem: str = ""  # e.g. "缺少机密 wecom_duty_webhook": every send fails with this reason

    @property
    def secrets(self) -> list[str]:
        """Every value that must never appear in a log line or an error (for :func:`redact`)."""
        values = [self.webhook, self.secret]
        if self.smtp is not None:
            values.append(self.smtp.password)
        if self.webhook:
            parts = urlsplit(self.webhook)
            values += [v for _, v in parse_qsl(parts.query)]
            values += [seg for seg in parts.path.split("/") if len(seg) >= 16]  # 飞书: …/hook/<token>
        return [v for v in values if v and len(v) >= 4]


@dataclass(frozen=True)
class NotifyConfig:
    channels: tuple[Channel, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    smtp: SmtpSettings | None = None  # for email rows addressed to a person rather than a channel
    smtp_problem: str = ""  # e.g. the SMTP password's secret is missing

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def find(self, kind: str, target: str) -> Channel | None:
        """The channel an outbox row means: by name; an empty or ``default`` target = the first of its kind."""
        ch = self.channel(target)
        if ch is not None and ch.kind == kind:
            return ch
        if target in ("", "default"):
            return next((c for c in self.channels if c.kind == kind), None)
        return None

    def secrets(self) -> list[str]:
        values = [s for c in self.channels for s in c.secrets]
        if self.smtp is not None and self.smtp.password:
            values.append(self.smtp.password)
        return values


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (also URL-encoded) replaced by ``***``."""
    for s in sorted(set(secrets), key=len, reverse=True):
        for form in {s, quote(s, safe=""), quote_plus(s)}:
            if form:
                text = text.replace(form, "***")
    return text


def post_json(url: str, payload: dict[str, Any], *, timeout: float, service: str) -> dict[str, Any]:
    """POST ``payload`` as UTF-8 JSON; the service's JSON answer, or SendError with a readable reason."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured https webhook
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace").strip()
        raise SendError(f"{service}返回 HTTP {exc.code}{('：' + detail) if detail else ''}") from None
    except urllib.error.URLError as exc:
        raise SendError(f"无法连接{service}：{exc.reason}") from None
    except TimeoutError:
        raise SendError(f"{service}在 {timeout:g} 秒内没有应答") from None
    except OSError as exc:
        raise SendError(f"无法连接{service}：{exc.strerror or exc}") from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SendError(f"{service}的应答不是 JSON：{raw[:120]!r}") from None
    if not isinstance(answer, dict):
        raise SendError(f"{service}的应答格式不对：{str(answer)[:120]}")
    return answer
