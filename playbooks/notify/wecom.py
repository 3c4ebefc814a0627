"""企业微信 group bot: POST JSON to ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``.

``msgtype`` ``markdown`` (content ≤ 4096 bytes; a user id is @-ed with ``<@userid>`` in the content) or
``text`` (content ≤ 2048 bytes; ``mentioned_list`` user ids, ``mentioned_mobile_list`` mobiles). A
mention by mobile number needs a text message, so such a message goes as text. The answer is
``{"errcode": 0, "errmsg": "ok"}``; anything else is a failure with the service's errmsg.
"""

from __future__ import annotations

import re
from typing import Any

from playbooks.notify.channels import Channel, SendError, post_json
from playbooks.notify.message import Message, inert_tags

SERVICE = "企业微信"
MARKDOWN_BYTES = 4096
TEXT_BYTES = 2048
_MOBILE = re.compile(r"^\+?\d{11,13}$")
_USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def mentions(mention: str) -> tuple[list[str], list[str]]:
    """(user ids, mobiles) from a comma-separated mention; anything else is dropped."""
    ids, mobiles = [], []
    for m in (p.strip() for p in (mention or "").split(",")):
        if _MOBILE.match(m):
            mobiles.append(m)
        elif _USER_ID.match(m):
            ids.append(m)
    return ids, mobiles


def payload(channel: Channel, msg: Message) -> dict[str, Any]:
    ids, mobiles = mentions(msg.mention)
    if channel.format == "markdown" and not mobiles:
        at = "".join(f"<@{i}>" for i in ids)
        content = msg.markdown(MARKDOWN_BYTES - 100 - len(at.encode()))
        return {"msgtype": "markdown", "markdown": {"content": content + (f"\n{at}" if at else "")}}
    text: dict[str, Any] = {"content": inert_tags(msg.text(TEXT_BYTES - 100))}
    if ids:
        text["mentioned_list"] = ids
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}


def send(channel: Channel, msg: Message) -> None:
    if not channel.webhook:
        raise SendError(f"通道 {channel.name} 没有配置 Webhook 地址")
    answer = post_json(channel.webhook, payload(channel, msg), timeout=channel.timeout_s, service=SERVICE)
    if answer.get("errcode") != 0:
        raise SendError(
            f"{SERVICE}拒收：errcode {answer.get('errcode')}，{answer.get('errmsg', '')}".rstrip("，")
        )
