"""Fixtures shared by every room's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test reaches the internet (CI has none): without these a Hugging Face hub lookup waits ~47 s for its
# timeout. huggingface_hub reads them once, at import, so they are set here, before any test imports it;
# child processes inherit them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests import migrated  # noqa: E402  (after the environment above)

migrated.install()  # a fresh records database starts from a migrated copy: see tests/migrated.py

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

FIRM_TOML = """
[firm]
name = "华鼎证券股份有限公司"
short_names = ["华鼎证券", "华鼎"]
stock_codes = ["609999"]
executives = ["张明远", "李静"]
products = ["华鼎金管家", "鼎盈1号"]
exclude = ["华鼎银行", "华鼎科技"]

[store]
path = "yuqing.db"
"""


@pytest.fixture(autouse=True)
def _records_from_template(request):
    """Fresh records databases start migrated (tests/migrated.py), except in modules marked
    ``real_migrations``, which run the whole chain every time."""
    real = request.node.get_closest_marker("real_migrations") is not None
    migrated.enabled(not real)
    yield
    migrated.enabled(True)


@pytest.fixture(scope="session", autouse=True)
def _drop_reused_schemas():
    """The PostgreSQL schemas kept for reuse (tests/migrated.py) go at the end of the run."""
    yield
    migrated.drop_pooled()


@pytest.fixture(scope="session")
def segmenter():
    from nlp.segment import Segmenter

    return Segmenter(["华鼎证券", "华鼎证券股份有限公司", "中信证券", "中信建投", "中信银行", "华鼎金管家"])


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch) -> Path:
    """A yuqing.toml for the fictional firm with its store in tmp_path; $YUQING_CONFIG points at it."""
    path = tmp_path / "yuqing.toml"
    path.write_text(FIRM_TOML, encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(path))
    for key in list(os.environ):
        if key.startswith("YUQING_") and key != "YUQING_CONFIG" and not key.startswith("YUQING_TEST_"):
            monkeypatch.delenv(key)
    return path


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip(f"../shared not found at {SHARED}")
    return SHARED
