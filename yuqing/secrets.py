"""Secrets (cookies, tokens, passwords) from the environment or the secrets file — never from code or the repo.

``get_secret(name)``: ``YUQING_SECRET_<NAME>``, else the TOML file named by ``secrets_file`` /
``$YUQING_SECRETS_FILE``. The implementation is :mod:`crawlers.spiders.secrets` (spiders need it, and the
crawlers room may not import from ``yuqing``); this module is the application's name for it.
"""

from __future__ import annotations

from crawlers.spiders.secrets import (
    SECRET_ENV_PREFIX,
    SECRETS_FILE_ENV,
    SecretError,
    get_secret,
    secret_env_name,
)

__all__ = ["SECRETS_FILE_ENV", "SECRET_ENV_PREFIX", "SecretError", "get_secret", "secret_env_name"]
