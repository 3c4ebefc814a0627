"""钉钉 custom robot: POST JSON to ``https://oapi.dingtalk.com/robot/send?access_token=…``.

加签 (signing): ``timestamp`` in milliseconds, ``sign = urlencode(base64(HmacSHA256(key=secret,
msg=f"{timestamp}\\n{secret}")))``, both appended to the webhook URL as ``&timestamp=…&sign=…``; the
service rejects a wrong sign or a timestamp more than an hour off (errcode 310000). ``msgtype``
``markdown`` (``title`` + ``text``) or ``text``; ``at.atMobiles`` / ``at.atUserIds`` name who is @-ed, and
the mention must also appear as ``@…`` in the text. The answer is ``{"errcode": 0, "errmsg": "ok"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

from playbooks.notify.channels import Channel, SendError, post_json
from playbooks.notify.message import Message, escape_markdown, inert_tags
from playbooks.notify.wecom import mentions

SERVICE = "钉钉"
TEXT_BYTES = 4000


def sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded signature for ``timestamp_ms`` (what goes after ``&sign=``)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(webhook: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return webhook
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if "?" in webhook else "?"
    return f"{webhook}{sep}timestamp={ts}&sign={sign(secret, ts)}"


def payload(channel: Channel, msg: Message) -> dict[str, Any]:
    ids, mobiles = mentions(msg.mention)
    at_line = " ".join(f"@{m}" for m in [*mobiles, *ids])
    at = {"atMobiles": mobiles, "atUserIds": ids, "isAtAll": False}
    if channel.format == "markdown":
        text = msg.markdown(TEXT_BYTES - len(at_line.encode()))
        return {
            "msgtype": "markdown",
            "markdown": {
                "title": escape_markdown(msg.title)[:60],
                "text": text + (f"\n\n{at_line}" if at_line else ""),
            },
            "at": at,
        }
    return {
        "msgtype": "text",
        "text": {"content": inert_tags(msg.text(TEXT_BYTES)) + (f"\n{at_line}" if at_line else "")},
        "at": at,
    }


def send(channel: Channel, msg: Message, *, timestamp_ms: int | None = None) -> None:
    if not channel.webhook:
        raise SendError(f"通道 {channel.name} 没有配置 Webhook 地址")
    url = signed_url(channel.webhook, channel.secret, timestamp_ms)
    answer = post_json(url, payload(channel, msg), timeout=channel.timeout_s, service=SERVICE)
    if answer.get("errcode") != 0:
        raise SendError(
            f"{SERVICE}拒收：errcode {answer.get('errcode')}，{answer.get('errmsg', '')}".rstrip("，")
        )
