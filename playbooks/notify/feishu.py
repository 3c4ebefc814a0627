"""飞书 custom bot: POST JSON to ``https://open.feishu.cn/open-apis/bot/v2/hook/…``.

签名校验 (signing): in the body, ``timestamp`` (seconds, as a string) and ``sign = base64(HmacSHA256(
key=f"{timestamp}\\n{secret}", msg=b""))``; the service rejects a wrong sign or a timestamp more than an
hour off (code 19021). ``msg_type`` ``text`` (``content.text``; ``<at user_id="…"></at>`` @-s someone) or
``interactive`` (a card: header with the level's colour, the text as ``lark_md``, a button to the desk).
The answer is ``{"code": 0, "msg": "success"}``; anything else is a failure with the service's msg.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

from playbooks.notify.channels import Channel, SendError, post_json
from playbooks.notify.message import Message, escape_markdown, inert_tags, plain, safe_link

SERVICE = "飞书"
CARD_BYTES = 20_000
TEXT_BYTES = 20_000
COLOURS = {"I": "red", "II": "orange", "III": "yellow", "IV": "blue"}
_OPEN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _at_ids(mention: str) -> list[str]:
    return [m for m in (p.strip() for p in (mention or "").split(",")) if _OPEN_ID.match(m)]


def payload(channel: Channel, msg: Message) -> dict[str, Any]:
    ats = "".join(f'<at user_id="{i}"></at>' for i in _at_ids(msg.mention))
    if channel.format != "markdown":
        # text messages honour <at user_id="all"></at>: a post quoting one must not @ everyone
        text = inert_tags(msg.text(TEXT_BYTES))
        return {"msg_type": "text", "content": {"text": text + ats}}
    head = f"**{msg.level_line()}**\n"
    body = escape_markdown(msg.body or msg.subject)
    elements: list[dict[str, Any]] = [
        {
            "tag": "div",
            "text": {
                "tag": "lark_md",
                "content": head + "情况：" + body[: CARD_BYTES // 4] + ("\n" + ats if ats else ""),
            },
        }
    ]
    link = safe_link(msg.link)
    if link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": "在值守台打开"},
                        "url": link,
                        "type": "primary",
                    }
                ],
            }
        )
        elements.append({"tag": "div", "text": {"tag": "plain_text", "content": f"值守台链接：{link}"}})
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": plain(msg.title)[:100]},
                "template": "grey" if msg.kind == "test" else COLOURS.get(msg.level or "", "blue"),
            },
            "elements": elements,
        },
    }


def send(channel: Channel, msg: Message, *, timestamp_s: int | None = None) -> None:
    if not channel.webhook:
        raise SendError(f"通道 {channel.name} 没有配置 Webhook 地址")
    body = payload(channel, msg)
    if channel.secret:
        ts = int(time.time()) if timestamp_s is None else timestamp_s
        body = {"timestamp": str(ts), "sign": sign(channel.secret, ts), **body}
    answer = post_json(channel.webhook, body, timeout=channel.timeout_s, service=SERVICE)
    code = answer.get("code", answer.get("StatusCode"))
    if code != 0:
        raise SendError(
            f"{SERVICE}拒收：code {code}，{answer.get('msg', answer.get('StatusMessage', ''))}".rstrip("，")
        )
