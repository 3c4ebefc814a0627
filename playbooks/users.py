"""Desk users' accounts, passwords, sign-in with a failed-login limit, and desk sessions: authentication.

Passwords are kept only as salted scrypt hashes (``hashlib.scrypt``, parameters stored with the
hash, compared in constant time). A desk session is a random token handed to the browser session;
only its SHA-256 is stored, and it ends after ``idle`` without use, after ``absolute`` in all, on
sign-out, or when the user is disabled or gets a new password.

Every change to a user is written to the audit trail; no password, hash or token ever goes into an
audit entry or a log line. Sign-in refusals never say whether the username exists: an unknown name
is refused, counted and locked exactly like a wrong password.

Authorisation (who may call which function) sits next door and is decided by the caller
(``playbooks.authz.require(actor, "user.manage")``). The plain reads of the users table (``get_user``,
``list_users``, ``view`` …) are ``store/users.py``'s and are re-exported here, so callers need one module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.models import ROLES, ApiToken, DeskSession, LoginAttempt, User, utcnow
from store.records import audit, change_if, serialize
from store.times import as_utc
from store.users import UserView, count_users, get_user, list_users, user_by_email, view

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # scrypt of a huge input is slow; nobody types more
USERNAME_RE = re.compile(r"^[\w.@\-]{2,40}$")  # letters (Chinese too), digits, _ . @ -
CONTACT_CHANNELS = ("wecom", "dingtalk", "feishu")  # 企业微信 / 钉钉 / 飞书

# scrypt cost: n=2**14, r=8, p=1 (≈16 MiB, tens of ms); stored with each hash, so it can change later
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 64

BAD_LOGIN = "用户名或密码错误。"
LOCKED_LOGIN = "登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试或联系管理员解锁。"


class UserError(Exception):
    """A user change that cannot be made; the message is Chinese and may be shown as is."""


class LoginRefused(Exception):
    """Sign-in refused; the message is Chinese and never tells whether the username exists."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # for the LoginAttempt row and tests: bad_password, unknown_user, ...


class SessionInvalid(Exception):
    """The session token is no longer good: ``reason`` is expired, revoked, unknown or disabled."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthPolicy:
    """Session lifetimes and the failed-login limit (from ``[desk]`` in yuqing.toml)."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    touch_every: timedelta = timedelta(seconds=60)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Principal:
    """The signed-in user as plain data (the desk turns it into a playbooks.authz.Actor)."""

    user_id: int
    username: str
    role: str
    display_name: str = ""
    email: str = ""


Clock = Callable[[], datetime]


def _now(now: datetime | None) -> datetime:
    """``now`` as given by the caller (naive is UTC), or the clock."""
    return as_utc(now) if now is not None else utcnow()


# --------------------------------------------------------------------------- passwords


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$n=16384,r=8,p=1$<salt b64>$<hash b64>`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN
    )
    return f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash; a malformed or empty hash matches nothing."""
    try:
        scheme, params, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        p = dict(kv.split("=") for kv in params.split(","))
        n, r, par = int(p["n"]), int(p["r"]), int(p["p"])
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= par <= 16 and 16 <= len(expected) <= 128):
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=par,
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, KeyError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


# one hash computed once, so an unknown username costs the same time as a wrong password
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def check_password_policy(password: str, *, username: str = "") -> None:
    """Raise UserError (Chinese) when the password is too weak to keep."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符。")
    if password.strip() != password or not password.strip():
        raise UserError("密码首尾不能是空格。")
    if len(set(password)) < 4:
        raise UserError("密码过于简单，请至少使用 4 个不同的字符。")
    if username and username.lower() in password.lower():
        raise UserError("密码不能包含用户名。")


def generate_password(length: int = 16) -> str:
    """A random password that meets the policy (for demo accounts and resets by the CLI)."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_password_policy(pw)
            return pw
        except UserError:  # pragma: no cover - vanishingly rare
            continue


# --------------------------------------------------------------------------- users


def clean_username(raw: str) -> str:
    name = (raw or "").strip()
    if not USERNAME_RE.match(name):
        raise UserError("用户名须为 2–40 个字符，只能包含字母、汉字、数字及 _ . @ -。")
    return name


def _clean_email(raw: str | None) -> str:
    email = (raw or "").strip().lower()
    if email and (len(email) > 200 or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email)):
        raise UserError("邮箱格式不正确。")
    return email


def _clean_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"角色须为 {'、'.join(ROLES)} 之一。")
    return role


def _clean_text(raw: str | None, limit: int) -> str:
    text = " ".join(str(raw or "").split())
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def _clean_contacts(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError('联系方式须为 JSON 对象，例如 {"wecom": "zhangsan"}。')
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in CONTACT_CHANNELS:
            raise UserError(f"未知的联系渠道 {key!r}；可用：{', '.join(CONTACT_CHANNELS)}。")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise UserError(f"联系渠道 {key} 的值须为文本。")
        val = _clean_text(str(value), 120)
        if val:
            out[key] = val
    return out


def _must_get(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UserError(f"用户 {username} 不存在。")
    session.refresh(user)  # as the database has it now: an admin's change is compared against this
    return user


def _change_user(session: Session, user: User, **values: Any) -> None:
    """An admin's change to a user, compare-and-set on ``updated_at`` as read (UserError: 已被他人修改)."""
    if not change_if(session, user, User.updated_at == user.updated_at, **values, updated_at=utcnow()):
        raise UserError(f"用户 {user.username} 已被他人修改，请刷新后再操作。")


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    by: str,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    contacts: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> User:
    """A new active user; UserError when the name is taken or a field is bad. Audited as user.created."""
    username = clean_username(username)
    role = _clean_role(role)
    email = _clean_email(email)
    check_password_policy(password, username=username)
    if get_user(session, username) is not None:
        raise UserError(f"用户名 {username} 已存在。")
    if email and user_by_email(session, email) is not None:
        raise UserError(f"邮箱 {email} 已被其他用户使用。")
    at = _now(now)
    user = User(
        username=username,
        role=role,
        display_name=_clean_text(display_name, 80),
        email=email,
        phone=_clean_text(phone, 40),
        contacts=_clean_contacts(contacts),
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
        password_changed_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor=by,
        action="user.created",
        entity="user",
        entity_id=username,
        role=role,
        display_name=user.display_name,
        email=email,
    )
    log.info("user %s created (role %s) by %s", username, role, by)
    return user


_UNSET: Any = object()


def update_user(
    session: Session,
    username: str,
    *,
    by: str,
    role: str = _UNSET,
    display_name: str = _UNSET,
    email: str = _UNSET,
    phone: str = _UNSET,
    contacts: dict[str, Any] = _UNSET,
) -> User:
    """Change a user's profile fields; the audit entry lists what changed, from → to."""
    user = _must_get(session, username)
    wanted: dict[str, Any] = {}
    if role is not _UNSET:
        wanted["role"] = _clean_role(role)
    if display_name is not _UNSET:
        wanted["display_name"] = _clean_text(display_name, 80)
    if email is not _UNSET:
        wanted["email"] = _clean_email(email)
        other = user_by_email(session, wanted["email"]) if wanted["email"] else None
        if other is not None and other.id != user.id:
            raise UserError(f"邮箱 {wanted['email']} 已被其他用户使用。")
    if phone is not _UNSET:
        wanted["phone"] = _clean_text(phone, 40)
    if contacts is not _UNSET:
        wanted["contacts"] = _clean_contacts(contacts)
    changes = {k: [getattr(user, k), v] for k, v in wanted.items() if getattr(user, k) != v}
    if not changes:
        return user
    _change_user(session, user, **{k: new for k, (_old, new) in changes.items()})
    audit(session, actor=by, action="user.updated", entity="user", entity_id=user.username, changes=changes)
    log.info("user %s updated by %s: %s", user.username, by, sorted(changes))
    return user


def set_password(
    session: Session, username: str, password: str, *, by: str, now: datetime | None = None
) -> User:
    """A new password (policy-checked); the user's open sessions end. Audited without the password."""
    user = _must_get(session, username)
    check_password_policy(password, username=user.username)
    _change_user(session, user, password_hash=hash_password(password), password_changed_at=_now(now))
    ended = revoke_user_sessions(session, user.id, now=now)
    tokens = _revoke_user_tokens(session, user.id, now=now)  # a reset after a leak ends every credential
    audit(
        session,
        actor=by,
        action="user.password_set",
        entity="user",
        entity_id=user.username,
        sessions_ended=ended,
        tokens_revoked=tokens,
        by_self=(by == user.username),
    )
    log.info("password of user %s set by %s", user.username, by)
    return user


def change_own_password(
    session: Session,
    username: str,
    current: str,
    new: str,
    *,
    keep_token: str = "",
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
) -> User:
    """A signed-in person changes their own password; the current one must be right.

    A wrong current password counts as a failed sign-in (the same lock applies). The person's other
    sessions end; the one holding ``keep_token`` stays. Audited as user.password_changed.
    """
    policy = policy or AuthPolicy()
    serialize(session, f"login:{(username or '').strip()[:80]}")  # as authenticate: one attempt at a time
    at = _now(now)
    user = _must_get(session, username)
    if lock_state(session, user.username, policy=policy, now=at)[0] is not None:
        raise UserError("登录失败次数过多，账号已暂时锁定，请稍后再试或联系管理员。")
    if not user.password_hash or not verify_password(current, user.password_hash):
        session.add(
            LoginAttempt(username=user.username, at=at, ok=False, reason="bad_password", client="passwd")
        )
        user.failed_logins = int(user.failed_logins or 0) + 1
        raise UserError("当前密码不正确。")
    if new == current:
        raise UserError("新密码不能与当前密码相同。")
    check_password_policy(new, username=user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = at
    stmt = update(DeskSession).where(DeskSession.user_id == user.id, DeskSession.revoked_at.is_(None))
    if keep_token:
        stmt = stmt.where(DeskSession.token_hash != token_hash(keep_token))
    ended = int(session.execute(stmt.values(revoked_at=at)).rowcount or 0)
    audit(
        session,
        actor=user.username,
        action="user.password_changed",
        entity="user",
        entity_id=user.username,
        other_sessions_ended=ended,
    )
    log.info("user %s changed their password", user.username)
    return user


def set_active(
    session: Session, username: str, active: bool, *, by: str, now: datetime | None = None
) -> User:
    """Disable (its sessions end at once) or enable a user."""
    user = _must_get(session, username)
    if not active and by == user.username:
        raise UserError("不能停用当前登录的自己的账号。")
    if bool(user.active) == bool(active):
        return user
    _change_user(session, user, active=bool(active))
    ended = 0 if active else revoke_user_sessions(session, user.id, now=now)
    audit(
        session,
        actor=by,
        action="user.enabled" if active else "user.disabled",
        entity="user",
        entity_id=user.username,
        sessions_ended=ended,
    )
    log.info("user %s %s by %s", user.username, "enabled" if active else "disabled", by)
    return user


def unlock(session: Session, username: str, *, by: str, now: datetime | None = None) -> User:
    """Lift a lockout from failed sign-ins; earlier failures no longer count."""
    user = _must_get(session, username)
    user.locked_until = None
    user.failed_logins = 0
    session.add(
        LoginAttempt(username=user.username, at=_now(now), ok=False, reason="unlocked", client=by[:80])
    )
    audit(session, actor=by, action="user.unlocked", entity="user", entity_id=user.username)
    log.info("user %s unlocked by %s", user.username, by)
    return user


# --------------------------------------------------------------------------- sign-in

_FAILURES = ("bad_password", "unknown_user", "disabled", "no_password")
_RESETS = ("ok", "unlocked")


def lock_state(
    session: Session, username: str, *, policy: AuthPolicy, now: datetime | None = None
) -> tuple[datetime | None, int]:
    """(locked until — None when not locked —, failures counted toward the limit) from LoginAttempt.

    The same rule for names that exist and names that do not: ``max_failures`` failures within
    ``failure_window`` lock the name for ``lockout``; a success or an unlock starts the count anew,
    and failures before a lockout ended no longer count.
    """
    at = _now(now)
    horizon = at - policy.failure_window - policy.lockout
    rows = session.execute(
        select(LoginAttempt.at, LoginAttempt.reason)
        .where(LoginAttempt.username == username, LoginAttempt.at >= horizon, LoginAttempt.at <= at)
        .order_by(LoginAttempt.at, LoginAttempt.id)
    ).all()
    failures: list[datetime] = []
    locked_until: datetime | None = None
    for when, reason in rows:
        if reason in _RESETS:
            failures, locked_until = [], None
            continue
        if reason not in _FAILURES:
            continue  # attempts refused while locked do not extend the lock
        if locked_until is not None:
            if when < locked_until:
                continue
            failures, locked_until = [], None
        failures = [t for t in failures if t > when - policy.failure_window] + [when]
        if len(failures) >= policy.max_failures:
            locked_until, failures = when + policy.lockout, []
    if locked_until is not None and at >= locked_until:
        locked_until = None
    recent = [t for t in failures if t > at - policy.failure_window]
    return locked_until, len(recent)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    policy: AuthPolicy | None = None,
    client: str = "",
    now: datetime | None = None,
) -> User:
    """The user, when the name and password are right and the account is active and not locked.

    Otherwise LoginRefused with a Chinese message that never says whether the name exists. Every
    attempt is recorded in LoginAttempt. Commit the session even on LoginRefused (the desk does
    this with ``record_login``), so the failure counts. Attempts on one name are serialized until
    their commit (``store.records.serialize``: an advisory lock per name on PostgreSQL, the write lock
    on SQLite), so the limit holds when many arrive at once.
    """
    policy = policy or AuthPolicy()
    name = (username or "").strip()[:80]
    # attempts on one name take turns from here to their commit: each sees the failures before it, so
    # parallel guesses cannot all pass the lock check before any of them is counted; the attempt's time
    # is read after the wait (one that waited must not be dated before the attempts that went first)
    serialize(session, f"login:{name}")
    at = _now(now)
    user = get_user(session, name) if name else None

    def refuse(reason: str, message: str = BAD_LOGIN) -> LoginRefused:
        session.add(LoginAttempt(username=name, at=at, ok=False, reason=reason, client=client[:80]))
        if user is not None and reason in _FAILURES:
            user.failed_logins = int(user.failed_logins or 0) + 1
        session.flush()
        if user is not None:
            until, _count = lock_state(session, name, policy=policy, now=at)
            user.locked_until = until
        log.info("sign-in refused (%s) for a username of %d characters", reason, len(name))
        return LoginRefused(message, reason=reason)

    minutes = max(1, int(policy.lockout.total_seconds() // 60))
    until, _count = lock_state(session, name, policy=policy, now=at)
    if until is not None:
        raise refuse(
            "locked", LOCKED_LOGIN.format(minutes=max(1, int((until - at).total_seconds() // 60) + 1))
        )
    if user is None:
        verify_password(password, _dummy_hash())  # same cost as a real check
        exc = refuse("unknown_user")
    elif not user.password_hash:
        verify_password(password, _dummy_hash())
        exc = refuse("no_password")
    elif not verify_password(password, user.password_hash):
        exc = refuse("bad_password")
    elif not user.active:
        exc = refuse("disabled")
    else:
        session.add(LoginAttempt(username=name, at=at, ok=True, reason="ok", client=client[:80]))
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = at
        log.info("user %s signed in", user.username)
        return user
    # the attempt that reaches the limit says so at once
    until, _count = lock_state(session, name, policy=policy, now=at)
    if until is not None:
        raise LoginRefused(LOCKED_LOGIN.format(minutes=minutes), reason=exc.reason)
    raise exc


# --------------------------------------------------------------------------- sessions


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    session: Session, user: User, *, policy: AuthPolicy | None = None, now: datetime | None = None
) -> str:
    """A new desk session for ``user``; returns the token (kept only by the caller, never stored)."""
    policy = policy or AuthPolicy()
    at = _now(now)
    token = secrets.token_urlsafe(32)
    session.add(
        DeskSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=at,
            last_seen_at=at,
            expires_at=at + policy.absolute,
        )
    )
    session.flush()
    return token


def check_session(
    session: Session, token: str, *, policy: AuthPolicy | None = None, now: datetime | None = None
) -> Principal:
    """The user behind a live session token (and the session's idle clock restarts); else SessionInvalid."""
    policy = policy or AuthPolicy()
    at = _now(now)
    if not token:
        raise SessionInvalid("unknown")
    row = session.scalar(select(DeskSession).where(DeskSession.token_hash == token_hash(token)))
    if row is None:
        raise SessionInvalid("unknown")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise SessionInvalid("disabled")  # said first: disabling also revokes, but this is the reason
    if row.revoked_at is not None:
        raise SessionInvalid("revoked")
    last_seen = row.last_seen_at or at
    if at >= row.expires_at or at - last_seen >= policy.idle:
        raise SessionInvalid("expired")
    if at - last_seen >= policy.touch_every:
        row.last_seen_at = at
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name or "",
        email=user.email or "",
    )


def revoke_session(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """End one session (sign-out); False when the token was unknown or already ended."""
    if not token:
        return False
    row = session.scalar(select(DeskSession).where(DeskSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = _now(now)
    return True


def revoke_user_sessions(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """End every open session of one user; returns how many."""
    result = session.execute(
        update(DeskSession)
        .where(DeskSession.user_id == user_id, DeskSession.revoked_at.is_(None))
        .values(revoked_at=_now(now))
    )
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------- command-line tokens

TOKEN_PREFIX = "yqt_"
MAX_TOKEN_DAYS = 366


class TokenInvalid(Exception):
    """A command-line token that is not (or no longer) good; the message is Chinese and says which."""


def issue_token(
    session: Session,
    username: str,
    *,
    by: str,
    days: int = 30,
    label: str = "",
    lifetime: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """A token for ``username`` to act on the command line (``YUQING_TOKEN`` / ``--token-file``); returned
    once, only its SHA-256 kept; expires after ``days`` (or ``lifetime``: the desk hands a command it
    starts for the signed-in person a token of a few minutes). Audited as user.token_issued (without
    the token)."""
    user = _must_get(session, username)
    if not user.active:
        raise UserError(f"用户 {user.username} 已停用，不能签发令牌。")
    if lifetime is None and not 1 <= int(days) <= MAX_TOKEN_DAYS:
        raise UserError(f"令牌有效期须为 1–{MAX_TOKEN_DAYS} 天。")
    if lifetime is not None and not timedelta(0) < lifetime <= timedelta(days=MAX_TOKEN_DAYS):
        raise UserError(f"令牌有效期须为 1–{MAX_TOKEN_DAYS} 天。")
    at = _now(now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=token_hash(token),
        user_id=user.id,
        label=_clean_text(label, 80),
        created_by=by[:80],
        created_at=at,
        expires_at=at + (lifetime if lifetime is not None else timedelta(days=int(days))),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=by,
        action="user.token_issued",
        entity="user",
        entity_id=user.username,
        token_id=row.id,
        label=row.label,
        expires_at=row.expires_at.isoformat(timespec="seconds"),
    )
    log.info("command-line token %s issued for user %s by %s", row.id, user.username, by)
    return token


def check_token(session: Session, token: str, *, now: datetime | None = None) -> User:
    """The active user a command-line token belongs to (its last use is recorded); else TokenInvalid."""
    at = _now(now)
    token = (token or "").strip()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token))) if token else None
    if row is None:
        raise TokenInvalid("令牌无效（不存在或已被替换），请向管理员申请新令牌：yuqing user token 用户名")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise TokenInvalid("令牌所属的账号已停用。")
    if row.revoked_at is not None:
        raise TokenInvalid("令牌已被吊销，请向管理员申请新令牌。")
    if at >= row.expires_at:
        raise TokenInvalid(f"令牌已于 {row.expires_at:%Y-%m-%d %H:%M} UTC 过期，请向管理员申请新令牌。")
    row.last_used_at = at
    return user


def revoke_tokens(session: Session, username: str, *, by: str, now: datetime | None = None) -> int:
    """Revoke every live command-line token of ``username``; returns how many. Audited."""
    user = _must_get(session, username)
    ended = _revoke_user_tokens(session, user.id, now=now)
    audit(
        session, actor=by, action="user.tokens_revoked", entity="user", entity_id=user.username, tokens=ended
    )
    log.info("%d command-line token(s) of user %s revoked by %s", ended, user.username, by)
    return ended


def _revoke_user_tokens(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=_now(now))
    )
    return int(result.rowcount or 0)


def principal(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name or "",
        email=user.email or "",
    )


SSO_UNKNOWN = "该单点登录邮箱没有对应的值守台账号（或账号已停用），请联系管理员开通。"


def sso_user(
    session: Session,
    email: str,
    *,
    email_verified: bool | None = None,
    client: str = "",
    now: datetime | None = None,
) -> User:
    """The active desk user whose email is the one the identity provider vouched for (single sign-on).

    The role is the desk user's own. Refused (LoginRefused, Chinese) when the email is missing, the
    provider says it is not verified, or no active user has it; each attempt is recorded in
    LoginAttempt under ``sso:<email>``.
    """
    at = _now(now)
    email = (email or "").strip().lower()
    label = f"sso:{email}"[:80]
    user = user_by_email(session, email) if email else None
    if not email or email_verified is False or user is None or not user.active:
        reason = "sso_unverified" if email and email_verified is False else "sso_unknown"
        session.add(LoginAttempt(username=label, at=at, ok=False, reason=reason, client=client[:80]))
        log.info("single sign-on refused (%s)", reason)
        raise LoginRefused(SSO_UNKNOWN, reason=reason)
    session.add(LoginAttempt(username=user.username, at=at, ok=True, reason="sso", client=client[:80]))
    user.last_login_at = at
    log.info("user %s signed in through single sign-on", user.username)
    return user


__all__ = [
    "BAD_LOGIN",
    "CONTACT_CHANNELS",
    "LOCKED_LOGIN",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SSO_UNKNOWN",
    "USERNAME_RE",
    "AuthPolicy",
    "Clock",
    "LoginRefused",
    "Principal",
    "SessionInvalid",
    "TOKEN_PREFIX",
    "TokenInvalid",
    "UserError",
    "UserView",  # the plain reads below are store/users.py's
    "authenticate",
    "change_own_password",
    "check_password_policy",
    "check_session",
    "clean_username",
    "count_users",
    "create_user",
    "generate_password",
    "get_user",
    "hash_password",
    "issue_token",
    "check_token",
    "revoke_tokens",
    "list_users",
    "lock_state",
    "open_session",
    "principal",
    "revoke_session",
    "revoke_user_sessions",
    "set_active",
    "set_password",
    "sso_user",
    "token_hash",
    "unlock",
    "update_user",
    "user_by_email",
    "verify_password",
    "view",
]
