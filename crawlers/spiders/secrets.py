"""Secrets (cookies, tokens) from the environment or the secrets file — never from code or the repo.

``get_secret("xq_a_token")`` looks, in order, at:

1. the environment variable ``YUQING_SECRET_XQ_A_TOKEN`` (``YUQING_SECRET_`` + the name upper-cased);
2. the TOML secrets file named by the ``secrets_file`` argument, else ``$YUQING_SECRETS_FILE`` (the same
   variable that sets ``secrets_file`` in the configuration), with the name as a top-level key or in a
   ``[secrets]`` table: ``xq_a_token = "..."``.

A process resolves secrets itself (the crawl child process does so too): secrets are never passed in
files the runner writes, never logged, never part of an error message.

It lives in the crawlers room because spiders need it and a room imports only what is below it;
``yuqing.secrets`` re-exports it for the rest of the application.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

__all__ = ["SECRETS_FILE_ENV", "SECRET_ENV_PREFIX", "SecretError", "get_secret", "secret_env_name"]

SECRET_ENV_PREFIX = "YUQING_SECRET_"
SECRETS_FILE_ENV = "YUQING_SECRETS_FILE"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SecretError(LookupError):
    """A secret is missing or the secrets file cannot be read; the message names no secret value."""


def secret_env_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise SecretError(f"机密名称无效 / invalid secret name: {name!r} (letters, digits, _)")
    return SECRET_ENV_PREFIX + name.upper()


def _read_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SecretError(f"机密文件不存在 / secrets file not found: {path}") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        # the decode error names a line and column, never the file's content
        raise SecretError(f"机密文件无法读取 / secrets file unreadable: {path}: {exc}") from exc
    table = data.get("secrets")
    merged = dict(data)
    if isinstance(table, dict):
        merged.update(table)
    return {str(k).lower(): v for k, v in merged.items()}


def get_secret(
    name: str, *, secrets_file: str | os.PathLike[str] | None = None, required: bool = False
) -> str | None:
    """The secret ``name``, or None when it is set nowhere (``required=True``: raise SecretError).

    An empty value counts as unset. A secrets file that is named but missing or unreadable raises
    SecretError: a typo in the path must not look like "no cookie configured".
    """
    env_name = secret_env_name(name)
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    file_name = secrets_file or os.environ.get(SECRETS_FILE_ENV, "").strip()
    if file_name:
        raw = _read_file(Path(file_name)).get(name.lower())
        if isinstance(raw, str | int) and str(raw).strip():
            return str(raw).strip()
    if required:
        where = f"{env_name} 或机密文件 {file_name}" if file_name else f"{env_name} 或 ${SECRETS_FILE_ENV}"
        raise SecretError(f"缺少机密 {name} / secret {name!r} not set: 请设置 {where}")
    return None
