"""Fixtures for the desk's AppTests: a tmp config and a store filled with a few flagged posts.

Posts are built as PostRecords with their analysis already filled in, so the desk tests do not
depend on the sentiment model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from store.models import PostRecord
from store.records import upsert_alert
from yuqing.config import load_settings
from yuqing.context import Context, build_context

APP = Path(__file__).resolve().parents[2] / "desk" / "app.py"
TOKEN_KEY = "desk.session_token"  # desk.state.SESSION_TOKEN
OFFICER = "王晓明"  # the default signed-in officer's username (recorded in the audit trail)
TEST_PASSWORD = "desk-test-pass-42"  # meets the password policy (playbooks/users.py)
# the username sign_in() uses for each role when none is given
ROLE_USERS = {"officer": OFFICER, "manager": "李负责", "admin": "admin"}

DESK_TOML = """
[firm]
name = "华鼎证券股份有限公司"
short_names = ["华鼎证券", "华鼎"]
stock_codes = ["609999"]
executives = ["张明远", "李静"]
products = ["华鼎金管家"]
exclude = ["华鼎银行"]

[store]
path = "{store}"
"""

HOSTILE_TITLE = "**加粗标题** <script>alert(1)</script>"
HOSTILE_TEXT = (
    "客户投诉华鼎证券佣金乱收费 <script>alert(1)</script> **bold** "
    "[link](javascript:alert(1)) <img src=x onerror=alert(2)> :red[红字] $x^2$"
)


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).astimezone().isoformat(timespec="seconds")


def make_post(
    key: str,
    *,
    title: str,
    text: str,
    level: str | None,
    source: str,
    sentiment: str = "negative",
    topic: str = "其他",
    rumor: bool = False,
    minutes_ago: int = 60,
    reasons: list[str] | None = None,
    url: str | None = None,
    drill: bool = False,
) -> PostRecord:
    scores = {"negative": 0.05, "neutral": 0.05, "positive": 0.05}
    scores[sentiment] = 0.9
    return PostRecord(
        id=f"post-{key}",
        title=title,
        text=text,
        url=url if url is not None else f"https://example.com/{key}",
        canonical_url=f"https://example.com/{key}",
        source=source,
        source_family="rss",
        author=f"作者{key}",
        published_at=_ago(minutes_ago),
        sentiment={"label": sentiment, "scores": scores},
        targets=["华鼎证券"],
        negative_targets=["华鼎证券"] if sentiment == "negative" else [],
        falsity={"label": "rumor" if rumor else "none", "score": 0.8 if rumor else 0.1},
        topic=topic,
        level=level,
        flagged=level is not None,
        reasons=reasons or [],
        drill=drill,
        reposts=120,
        comments=30,
        likes=500,
    )


def sample_posts() -> dict[str, PostRecord]:
    return {
        "outage": make_post(
            "outage",
            title="华鼎证券APP崩了，开盘无法登录交易",
            text="今天开盘华鼎证券APP崩了，交易系统故障，委托下不了单，客服电话打不通。",
            level="I",
            source="微博",
            topic="交易系统故障",
            minutes_ago=120,
            reasons=["对华鼎证券的负面情绪强烈", "涉及交易系统故障", "传播量高"],
        ),
        "rumor": make_post(
            "rumor",
            title="传华鼎证券将被立案调查",
            text="网传华鼎证券将被证监会立案调查，消息未经证实。",
            level="II",
            source="股吧",
            topic="不实信息",
            rumor=True,
            minutes_ago=30,
            reasons=["疑似不实信息"],
        ),
        "hostile": make_post(
            "hostile",
            title=HOSTILE_TITLE,
            text=HOSTILE_TEXT,
            level="III",
            source="雪球",
            sentiment="neutral",
            topic="客户投诉",
            minutes_ago=20,
            reasons=["客户投诉 <b>佣金</b>"],
            url="javascript:alert(1)",
        ),
        "complaint": make_post(
            "complaint",
            title="华鼎金管家理财赎回慢",
            text="华鼎金管家里的理财赎回三天还没到账，投诉无门。",
            level="IV",
            source="黑猫投诉",
            topic="客户投诉",
            minutes_ago=10,
            reasons=["客户投诉"],
        ),
        "praise": make_post(
            "praise",
            title="华鼎证券服务不错",
            text="华鼎证券的客户经理服务很好。",
            level=None,
            source="微博",
            sentiment="positive",
            minutes_ago=5,
        ),
        "drill": make_post(
            "drill",
            title="演练：华鼎证券系统宕机",
            text="这是一条演练帖子：华鼎证券系统宕机。",
            level="I",
            source="微博",
            topic="交易系统故障",
            minutes_ago=1,
            reasons=["演练"],
            drill=True,
        ),
    }


@dataclass
class DeskStore:
    config: Path
    posts: dict[str, PostRecord]

    def context(self) -> Context:
        return build_context(load_settings(self.config))

    def add(self, posts: list[PostRecord]) -> None:
        ctx = self.context()
        try:
            store_posts(ctx, posts)
        finally:
            ctx.close()


def store_posts(ctx: Context, posts: list[PostRecord]) -> None:
    ctx.index.upsert_many(posts)
    with ctx.records.session() as s:
        for p in posts:
            if p.flagged:
                m = ctx.match_playbook(p)
                upsert_alert(s, post=p, playbook_id=m.playbook.id if m else None)


@pytest.fixture(scope="session", autouse=True)
def _scan_components_once():
    """Streamlit scans every installed distribution's metadata for components at each AppTest run (~0.4 s,
    a third of a typical desk test); what is installed does not change during a run: scan once."""
    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    found: dict[None, list] = {}

    def once(max_workers: int | None = None) -> list:
        if None not in found:
            found[None] = real(max_workers)
        return list(found[None])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests", once)
        yield


_SEGMENTERS: dict[tuple[str, ...], object] = {}


@pytest.fixture(autouse=True)
def _shared_segmenter(monkeypatch):
    """One jieba segmenter per watch list for the whole run (building one costs about a second)."""
    import nlp.segment

    real = nlp.segment.Segmenter

    def shared(user_words=(), **kwargs):
        key = tuple(user_words)
        if key not in _SEGMENTERS:
            _SEGMENTERS[key] = real(user_words, **kwargs)
        return _SEGMENTERS[key]

    monkeypatch.setattr(nlp.segment, "Segmenter", shared)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test gets its own Context (the desk caches it with st.cache_resource)."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def desk_config(tmp_path: Path, monkeypatch) -> Path:
    """A yuqing.toml for 华鼎证券 with its store in tmp_path; $YUQING_CONFIG points at it."""
    for key in list(os.environ):
        if key.startswith("YUQING_") and not key.startswith("YUQING_TEST_") and key != "YUQING_CACHE_DIR":
            monkeypatch.delenv(key)
    path = tmp_path / "yuqing.toml"
    path.write_text(DESK_TOML.format(store=(tmp_path / "desk.db").as_posix()), encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(path))
    return path


@pytest.fixture
def desk_store(desk_config: Path) -> DeskStore:
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    return store


def _records_ctx(where: Context | DeskStore | Path | str | None) -> tuple[Context, bool]:
    """(a Context, whether the caller must close it) for a Context, DeskStore, config path or $YUQING_CONFIG."""
    # duck-typed: this module may be imported twice (as conftest and as tests.desk.conftest)
    if hasattr(where, "records"):
        return where, False  # type: ignore[return-value]
    if hasattr(where, "config") and hasattr(where, "posts"):
        return build_context(load_settings(where.config)), True  # type: ignore[union-attr]
    path = Path(where) if where is not None else Path(os.environ["YUQING_CONFIG"])
    return build_context(load_settings(path)), True


def make_user(
    where: Context | DeskStore | Path | str | None = None,
    *,
    username: str | None = None,
    role: str = "officer",
    display_name: str = "",
    password: str = TEST_PASSWORD,
    email: str = "",
):
    """A user in the test store (made once; an existing one gets ``role``). Returns its UserView."""
    from playbooks import users

    username = username or ROLE_USERS[role]
    ctx, close = _records_ctx(where)
    try:
        with ctx.records.session() as s:
            user = users.get_user(s, username)
            if user is None:
                user = users.create_user(
                    s,
                    username=username,
                    role=role,
                    password=password,
                    by="test",
                    display_name=display_name,
                    email=email,
                )
            elif user.role != role:
                users.update_user(s, username, role=role, by="test")
            return users.view(user)
    finally:
        if close:
            ctx.close()


def sign_in(
    at: AppTest,
    where: Context | DeskStore | Path | str | None = None,
    role: str = "officer",
    *,
    username: str | None = None,
    display_name: str = "",
) -> str:
    """Sign ``at`` in as a user of ``role`` (made if missing) before ``at.run()``; returns the username.

    ``where`` is a Context, a DeskStore, a config path, or None for $YUQING_CONFIG (the desk_config
    fixture sets it). The default usernames per role are in ROLE_USERS (officer → 王晓明).
    """
    from playbooks import users

    user = make_user(where, username=username, role=role, display_name=display_name)
    ctx, close = _records_ctx(where)
    try:
        with ctx.records.session() as s:
            token = users.open_session(s, s.get(users.User, user.id))
    finally:
        if close:
            ctx.close()
    at.session_state[TOKEN_KEY] = token
    return user.username


@pytest.fixture
def app():
    """A desk AppTest factory: app(officer=..., role=...) signs in as that user and runs the entry page.

    app(officer=None) runs it signed out (the login form).
    """

    def make(officer: str | None = OFFICER, role: str = "officer") -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        if officer:
            sign_in(at, None, role=role, username=officer)
        return at.run()

    return make


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def open_item(at: AppTest, post_id: str) -> AppTest:
    at.query_params["post"] = post_id
    return at.switch_page("views/item.py").run()


def frame(at: AppTest, column: str):
    """The shown table (st.dataframe) that has ``column``, as a pandas DataFrame."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column on the page")
