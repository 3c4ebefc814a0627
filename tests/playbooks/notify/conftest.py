"""Local stand-ins for 企业微信, 钉钉 and 飞书 group bots and an SMTP server.

Each bot receiver checks what the real service checks: the webhook key/token, the signature recomputed
from the shared secret (a wrong sign or a timestamp more than an hour off is refused with the service's
own error code), and the payload's shape; it answers as the service does. ``fail_first`` makes it answer
HTTP 500 that many times first; ``always_fail`` always.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.store import conftest as store_engines

records = store_engines.records  # the records-engine fixture: SQLite, and PostgreSQL when configured


@dataclass
class BotReceiver:
    kind: str
    token: str  # the webhook key / access_token / hook id
    secret: str = ""  # signing secret (钉钉, 飞书)
    fail_first: int = 0
    always_fail: bool = False
    delay_s: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted messages' payloads
    rejected: list[str] = field(default_factory=list)  # why requests were refused
    hits: int = 0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def webhook(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return {
            "wecom": f"{base}/cgi-bin/webhook/send?key={self.token}",
            "dingtalk": f"{base}/robot/send?access_token={self.token}",
            "feishu": f"{base}/open-apis/bot/v2/hook/{self.token}",
        }[self.kind]

    # ------------------------------------------------------------------ the service's checks

    def handle(self, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.hits += 1
            hit = self.hits
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.always_fail or hit <= self.fail_first:
            return 500, {"error": "internal error"}
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, {"error": "bad json"}
        check = getattr(self, f"_check_{self.kind}")
        status, answer, why = check(path, query, payload)
        if why:
            self.rejected.append(why)
        else:
            with self.lock:
                self.received.append(payload)
        return status, answer

    def _check_wecom(self, path, query, p):
        if path != "/cgi-bin/webhook/send" or query.get("key") != [self.token]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "key"
        kind = p.get("msgtype")
        if kind == "markdown":
            content = p.get("markdown", {}).get("content")
            limit = 4096
        elif kind == "text":
            content = p.get("text", {}).get("content")
            limit = 2048
            for k in ("mentioned_list", "mentioned_mobile_list"):
                if k in p["text"] and not all(isinstance(x, str) for x in p["text"][k]):
                    return 200, {"errcode": 40058, "errmsg": f"invalid {k}"}, "shape"
        else:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, "shape"
        if not isinstance(content, str) or not content:
            return 200, {"errcode": 44004, "errmsg": "empty content"}, "shape"
        if len(content.encode("utf-8")) > limit:
            return 200, {"errcode": 40058, "errmsg": f"content exceed max length {limit}"}, "size"
        return 200, {"errcode": 0, "errmsg": "ok"}, ""

    def _signature_ok(self, ts_raw: str | None, sign: str | None, *, ms: bool) -> bool:
        if not ts_raw or not sign or not ts_raw.isdigit():
            return False
        ts = int(ts_raw)
        now = time.time() * (1000 if ms else 1)
        if abs(now - ts) > 3600 * (1000 if ms else 1):  # more than an hour off: refused
            return False
        if ms:  # 钉钉: key = secret, msg = "timestamp\nsecret"
            digest = hmac.new(
                self.secret.encode(), f"{ts_raw}\n{self.secret}".encode(), hashlib.sha256
            ).digest()
        else:  # 飞书: key = "timestamp\nsecret", msg = empty
            digest = hmac.new(f"{ts_raw}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), sign)

    def _check_dingtalk(self, path, query, p):
        if path != "/robot/send" or query.get("access_token") != [self.token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}, "token"
        if self.secret:
            # parse_qs has undone the URL encoding, as the service's framework does
            ts, sign = (query.get("timestamp") or [None])[0], (query.get("sign") or [None])[0]
            if not self._signature_ok(ts, sign, ms=True):
                return (
                    200,
                    {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"},
                    "sign",
                )
        kind = p.get("msgtype")
        if kind == "markdown":
            md = p.get("markdown", {})
            if not md.get("title") or not md.get("text"):
                return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown.title/text"}, "shape"
        elif kind == "text":
            if not p.get("text", {}).get("content"):
                return 200, {"errcode": 40035, "errmsg": "缺少参数 text.content"}, "shape"
        else:
            return 200, {"errcode": 40035, "errmsg": "msgtype 不支持"}, "shape"
        at = p.get("at", {})
        if not isinstance(at.get("atMobiles", []), list) or not isinstance(at.get("atUserIds", []), list):
            return 200, {"errcode": 40035, "errmsg": "at 格式错误"}, "shape"
        return 200, {"errcode": 0, "errmsg": "ok"}, ""

    def _check_feishu(self, path, query, p):
        if path != f"/open-apis/bot/v2/hook/{self.token}":
            return (
                404,
                {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
                "token",
            )
        if self.secret and not self._signature_ok(p.get("timestamp"), p.get("sign"), ms=False):
            return (
                200,
                {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                },
                "sign",
            )
        kind = p.get("msg_type")
        if kind == "text":
            ok = isinstance(p.get("content", {}).get("text"), str) and p["content"]["text"]
        elif kind == "interactive":
            card = p.get("card", {})
            ok = bool(card.get("elements")) and card.get("header", {}).get("title", {}).get("content")
        else:
            ok = False
        if not ok:
            return 200, {"code": 9499, "msg": "Bad Request"}, "shape"
        return 200, {"code": 0, "msg": "success", "data": {}}, ""


def _serve(receiver: BotReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = receiver.handle(parts.path, parse_qs(parts.query), body)
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def bot():
    """``bot(kind, secret=..., fail_first=..., always_fail=...)`` → a running BotReceiver."""
    servers = []

    def make(kind: str, **kw) -> BotReceiver:
        receiver = BotReceiver(kind=kind, token=kw.pop("token", f"tok{uuid.uuid4().hex}"), **kw)
        servers.append(_serve(receiver))
        return receiver

    yield make
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --------------------------------------------------------------------------- SMTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MailReceiver:
    host: str
    port: int
    cert: str
    username: str
    password: str
    messages: list[Any] = field(default_factory=list)  # email.message.EmailMessage
    envelopes: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server(tmp_path):
    """An aiosmtpd server on 127.0.0.1 that demands STARTTLS (self-signed cert) and AUTH before mail."""
    import email
    import email.policy
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(cert), str(key))
    rx = MailReceiver("127.0.0.1", _free_port(), str(cert), "desk-bot", f"pw-{uuid.uuid4().hex}")

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            rx.envelopes.append(envelope)
            rx.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == rx.username.encode() and auth_data.password == rx.password.encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Handler(),
        hostname=rx.host,
        port=rx.port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
        auth_required=True,
    )
    controller.start()
    yield rx
    controller.stop()
