"""Family ``xueqiu`` (雪球): search and a stock's posts through the JSON API, with the xq_a_token cookie
taken from the secrets file; and yuqing.secrets itself.

No real xueqiu answer is saved in ../shared/pages, so the fixtures (tests/fixtures/crawl/families/xueqiu/)
are built from the format the API serves as public clients parse it (``list`` of statuses with id,
user_id, text, description, created_at in ms, retweet_count, reply_count, like_count, target, user;
``statuses/show.json`` for a truncated post; the 400016 error answer).
"""

from __future__ import annotations

import pytest
from family_site import XQ_TOKEN, family_run, posts_of

from yuqing.secrets import SecretError, get_secret


@pytest.fixture(scope="module")
def run():
    return family_run()


def _by_id(run) -> dict[str, dict]:
    return {p["site_id"]: p for p in posts_of(run[1], "xueqiu")}


def test_search_and_symbol_posts(run):
    stats, _, _, _ = run
    s = stats["xueqiu"]
    assert (s["finish_reason"], s["errors"], s["items"]) == ("finished", 0, 4)
    posts = _by_id(run)
    assert set(posts) == {"360000001", "360000002", "360000003", "360000004"}
    official = posts["360000004"]  # from the account's timeline ({"statuses": [...]})
    assert official["author"] == "华鼎证券官方" and "未造成客户资金损失" in official["text"]
    assert official["published_at"] == "2026-11-20T09:05:00+08:00"
    p = posts["360000002"]
    assert p["published_at"] == "2026-11-20T09:00:00+08:00"  # created_at in ms
    assert p["url"] == "https://xueqiu.com/8000000002/360000002"  # the public host, not the test server
    assert (p["author"], p["user_followers"], p["comments"], p["likes"]) == ("小散日记", 37, 3, 2)


def test_truncated_post_is_completed(run):
    post = _by_id(run)["360000001"]
    assert post["title"] == "鼎盈1号的回撤说明了什么"
    assert "现在已经是第五个交易日" in post["text"]  # only in statuses/show.json
    assert post["user_verified"] is True and post["reposts"] == 6


def test_token_is_sent_as_cookie_and_never_written_or_logged(run):
    stats, posts, site, log = run
    api = [(path, h) for path, h in site.request_headers if path.startswith("/xueqiu/")]
    assert api and all(h.get("Cookie") == f"xq_a_token={XQ_TOKEN}" for _, h in api)
    # other sites never get it
    assert not any("Cookie" in h for path, h in site.request_headers if not path.startswith("/xueqiu/"))
    assert XQ_TOKEN not in log
    assert XQ_TOKEN not in repr(stats) and XQ_TOKEN not in repr(posts)


def test_get_secret_env_first_then_file(tmp_path, monkeypatch):
    monkeypatch.delenv("YUQING_SECRET_XQ_A_TOKEN", raising=False)
    monkeypatch.delenv("YUQING_SECRETS_FILE", raising=False)
    assert get_secret("xq_a_token") is None
    with pytest.raises(SecretError, match="YUQING_SECRET_XQ_A_TOKEN"):
        get_secret("xq_a_token", required=True)
    f = tmp_path / "secrets.toml"
    f.write_text('[secrets]\nxq_a_token = "from-file"\n', encoding="utf-8")
    monkeypatch.setenv("YUQING_SECRETS_FILE", str(f))
    assert get_secret("xq_a_token") == "from-file"
    monkeypatch.setenv("YUQING_SECRET_XQ_A_TOKEN", "from-env")
    assert get_secret("xq_a_token") == "from-env"


def test_secrets_file_errors_name_no_secret(tmp_path):
    with pytest.raises(SecretError, match="不存在"):
        get_secret("xq_a_token", secrets_file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('xq_a_token = "s3cr3t-value\n', encoding="utf-8")  # unterminated string
    with pytest.raises(SecretError) as err:
        get_secret("xq_a_token", secrets_file=bad)
    assert "s3cr3t" not in str(err.value)
    with pytest.raises(SecretError, match="invalid secret name"):
        get_secret("../etc")


def test_yuqing_crawl_hands_the_secrets_file_to_the_crawl_process(tmp_path, monkeypatch):
    """`yuqing crawl` (crawl_sources): the configured ``secrets_file`` reaches the child, the posts the store."""
    import json

    from family_site import family_routes, family_sources

    from yuqing.config import settings_from_dict
    from yuqing.context import Context
    from yuqing.crawl import crawl_sources
    from yuqing.localsite import LocalSite

    monkeypatch.delenv("YUQING_SECRET_XQ_A_TOKEN", raising=False)
    monkeypatch.delenv("YUQING_SECRETS_FILE", raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[secrets]\nxq_a_token = "cli-token-81d2"\n', encoding="utf-8")
    with LocalSite(tmp_path, {"routes": family_routes()}) as site:
        (source,) = [s for s in family_sources(site.base_url) if s["name"] == "xueqiu"]
        settings = settings_from_dict(
            {
                "firm": {
                    "name": "华鼎证券股份有限公司",
                    "short_names": ["华鼎证券"],
                    "stock_codes": ["609999"],
                },
                "sources": [source],
                "store": {"path": str(tmp_path / "yuqing.db")},
                "secrets_file": str(secrets),
            }
        )
        ctx = Context(settings)
        try:
            result = crawl_sources(ctx, settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0})
        finally:
            ctx.close()
        sent = {h.get("Cookie") for path, h in site.request_headers if path.startswith("/xueqiu/")}
    assert result.stats["xueqiu"]["items"] == 4 and result.stats["xueqiu"]["errors"] == 0
    assert sent == {"xq_a_token=cli-token-81d2"}
    assert "cli-token-81d2" not in json.dumps(result.stats, ensure_ascii=False, default=str)
