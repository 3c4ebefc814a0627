"""Email through SMTP (smtplib): STARTTLS when configured (or implicit TLS), login when a user is set.

The message is UTF-8 throughout: the subject is an RFC 2047 encoded word, the body a plain-text part
(what happened, the level, the desk link) with an HTML alternative whose every piece of caller text is
HTML-escaped. Recipients are the channel's ``to`` list, or the one address an outbox row names.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from playbooks.notify.channels import Channel, SendError, SmtpSettings
from playbooks.notify.message import Message, plain, safe_link

SERVICE = "邮件服务器"
BODY_BYTES = 60_000


def build(msg: Message, *, sender: str, to: list[str]) -> EmailMessage:
    em = EmailMessage()
    em["Subject"] = plain(msg.title).replace("\n", " ")[:200]
    em["From"] = sender
    em["To"] = ", ".join(to)
    em["Date"] = formatdate(localtime=True)
    em["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    text = msg.text(BODY_BYTES) + "\n\n（本邮件由舆情值守台自动发送）\n"
    em.set_content(text, charset="utf-8")
    link = safe_link(msg.link)
    body_html = html.escape(plain(msg.body or msg.subject)[: BODY_BYTES // 3]).replace("\n", "<br>")
    link_html = f'<p><a href="{html.escape(link)}">在值守台打开</a>：{html.escape(link)}</p>' if link else ""
    em.add_alternative(
        f"<h3>{html.escape(plain(msg.title))}</h3><p><b>{html.escape(msg.level_line())}</b></p>"
        f"<p>情况：{body_html}</p>{link_html}<p>（本邮件由舆情值守台自动发送）</p>",
        subtype="html",
        charset="utf-8",
    )
    return em


def _tls(smtp: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=smtp.ca_file or None)


def send_mail(smtp: SmtpSettings, to: list[str], msg: Message) -> None:
    if not smtp.host:
        raise SendError("没有配置邮件服务器（notify.smtp.host）")
    if not to:
        raise SendError("没有收件人")
    sender = smtp.from_addr or smtp.username
    if not sender:
        raise SendError("没有配置发件人（notify.smtp.from_addr）")
    em = build(msg, sender=sender, to=to)
    try:
        if smtp.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_s, context=_tls(smtp)
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            client.ehlo()
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=_tls(smtp))
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            refused = client.send_message(em)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"{SERVICE}拒绝登录（用户名或密码错误）：{exc.smtp_code}") from None
    except smtplib.SMTPNotSupportedError:
        raise SendError(f"{SERVICE}不支持 STARTTLS 或登录；检查 notify.smtp 的 starttls/ssl") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{SERVICE}拒收全部收件人：{', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise SendError(f"{SERVICE}拒收：{exc.smtp_code} {detail[:160]}") from None
    except ssl.SSLError as exc:
        raise SendError(f"与{SERVICE}的 TLS 握手失败：{exc.reason or exc}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"无法连接{SERVICE} {smtp.host}:{smtp.port}：{exc}") from None
    if refused:
        raise SendError(f"{SERVICE}拒收部分收件人：{', '.join(refused)}")


def send(channel: Channel, msg: Message, *, to: list[str] | None = None) -> None:
    if channel.smtp is None:
        raise SendError("没有配置邮件服务器（notify.smtp）")
    send_mail(channel.smtp, list(to if to is not None else channel.to), msg)
