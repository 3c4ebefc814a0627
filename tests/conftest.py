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


# The files that hold a test process longest (sum of their tests, 2026-12-07 on the 2-core CI machine, 15 s
# to 80 s each), slowest first: they are handed out first, and the many short files fill in after them.
# xdist's --dist loadfile otherwise hands out files with the most tests first, so the one-test browser
# files came last and one worker ran the 40 s role walk alone while the other sat idle. A file missing
# here only runs in its usual place; keep the list to the slow ones (pytest --durations=0 shows them).
SLOW_FILES_FIRST = (
    "tests/yuqing/test_fault_injection.py",
    "tests/desk/test_browser_night.py",
    "tests/crawlers/test_schedule.py",
    "tests/yuqing/test_readiness.py",
    "tests/crawlers/test_seen.py",
    "tests/desk/test_browser_roles.py",
    "tests/desk/test_triage.py",
    "tests/desk/test_triage_live.py",
    "tests/nlp/test_targets.py",
    "tests/store/test_neardup_batch.py",
    "tests/crawlers/test_redis_scaleout.py",
    "tests/crawlers/test_politeness.py",
    "tests/desk/test_night.py",
    "tests/playbooks/test_users.py",
    "tests/desk/test_escalations.py",
    "tests/yuqing/test_demo.py",
    "tests/desk/test_browser.py",
)


def pytest_configure(config):
    # --dist loadfile: files in the order collected (SLOW_FILES_FIRST, then the rest), not most tests first
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(session, config, items):
    rank = {path: i for i, path in enumerate(SLOW_FILES_FIRST)}
    # stable: every file's tests stay together and in their order
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


TEST_SCRYPT_N = 2**10  # 16 times cheaper than the desk's 2**14; the hash names it, so verifying reads it


@pytest.fixture(autouse=True)
def _cheaper_password_hashes(request, monkeypatch):
    """Passwords made in a test process are hashed with scrypt at n=2**10 instead of 2**14.

    The same scrypt, salt and format, and verify_password reads n from the stored hash as always; only the
    memory-hard cost differs (0.1-0.2 s per hash on this machine, some 600 hashes a run, users made for
    every desk test). Tests marked ``production_scrypt`` keep the desk's cost (the hash format test), and
    every command run as a subprocess (the desk server included) hashes as in production.
    """
    if request.node.get_closest_marker("production_scrypt") is None:
        import playbooks.users

        monkeypatch.setattr(playbooks.users, "SCRYPT_N", TEST_SCRYPT_N)


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
