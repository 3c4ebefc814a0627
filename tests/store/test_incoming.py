"""The incoming schema itself (store/incoming.py): what it rejects, what it brings into range, what it drops."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from store.incoming import (
    MAX_COUNT,
    MAX_DEPTH,
    MAX_LINE_BYTES,
    LineError,
    check_post,
    clean_json,
    decode_line,
    nesting_depth,
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[" * 100_000, "嵌套过深"),
        ("{" * 50_000, "嵌套过深"),
        ('{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "嵌套过深"),
        ('{"likes": Infinity}', "Infinity"),
        ('{"likes": -Infinity}', "Infinity"),
        ('{"likes": NaN}', "NaN"),
        ('{"likes": ' + "9" * 5000 + "}", "数值无法读取"),
        ("{oops", "JSON 格式错误"),
        (b'{"text": "\xff\xff\xff\xff"}', "不是 UTF-8 或 GBK"),
        ("x" * (MAX_LINE_BYTES + 1), "行过长"),
    ],
)
def test_lines_that_cannot_be_read_say_why_and_never_raise_anything_else(raw, reason):
    with pytest.raises(LineError, match=reason):  # a scan, not a recursion: never RecursionError
        decode_line(raw)


def test_brackets_inside_strings_do_not_count_as_nesting():
    line = json.dumps({"text": "[" * 1000 + "{" * 1000, "n": [[1]]})
    assert nesting_depth(line) <= MAX_DEPTH
    assert decode_line(line)["n"] == [[1]]
    escaped = json.dumps({"text": 'a \\" [[[[' * 30})  # escaped quotes do not end the string
    assert decode_line(escaped)["text"].startswith("a")


def test_wrong_types_reject_the_post_with_the_field_and_what_came():
    for obj, fragment in [
        ({"text": "x", "author": {"name": "x"}}, "author 应为字符串，收到对象"),
        ({"text": ["x"]}, "text 应为字符串，收到数组"),
        ({"text": "x", "likes": "很多"}, "likes 应为非负整数，收到字符串"),
        ({"text": "x", "reposts": True}, "reposts 应为非负整数，收到布尔值"),
        ({"text": "x", "published_at": {"t": 1}}, "published_at 应为时间"),
        ({"text": "x", "user_verified": "maybe"}, "user_verified 应为布尔值"),
        ({"text": "x", "url": "https://x/" + "a" * 9000}, "url 过长"),
        ({"title": " ", "text": ""}, "没有正文"),
        ("text", "不是 JSON 对象（收到字符串）"),
    ]:
        checked = check_post(obj)
        assert checked.post is None and fragment in checked.reason, (obj, checked.reason)


def test_values_out_of_range_are_brought_in_with_a_note():
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    checked = check_post(
        {
            "text": "华鼎\ud800证券\x00",
            "reposts": 1e308,
            "comments": int("9" * 400),
            "likes": -5,
            "user_followers": "1200",
            "published_at": 12345,
            "fetched_at": future,
            "author": 10086,
            "user_verified": 1,
            "source": "源" * 300,
        }
    )
    post = checked.post
    assert post is not None
    assert post["text"] == "华鼎�证券"
    assert (post["reposts"], post["comments"], post["likes"], post["user_followers"]) == (
        MAX_COUNT,
        MAX_COUNT,
        0,
        1200,
    )
    assert post["published_at"] == "" and post["fetched_at"] == ""
    assert post["author"] == "10086" and post["user_verified"] is True and len(post["source"]) == 200
    assert len(checked.notes) == 7  # text: one note for the surrogate and the NUL
    assert all(isinstance(n, str) and "：" in n for n in checked.notes)


def test_unix_times_in_seconds_and_milliseconds_are_read():
    at = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    for value in (at.timestamp(), int(at.timestamp() * 1000)):
        assert check_post({"text": "x", "published_at": value}).post["published_at"] == at.isoformat()
    iso = "2026-10-01T10:00:00+08:00"
    assert check_post({"text": "x", "published_at": iso}).post["published_at"] == iso  # kept as written
    assert check_post({"text": "x", "published_at": "昨天"}).post["published_at"] == ""


def test_fields_the_desk_derives_are_dropped_and_listed():
    checked = check_post(
        {
            "id": "feed-1",
            "text": "华鼎证券",
            "drill": "false",
            "first_seen_at": "2001-01-01",
            "flagged": False,
            "level": None,
            "watch": [],
            "authority": 1.0,
        }
    )
    assert checked.ignored == ["authority", "drill", "first_seen_at", "flagged", "level", "watch"]
    assert not {"drill", "first_seen_at", "flagged", "level", "watch", "authority", "id"} & set(checked.post)


def test_analysis_keeps_the_whole_object_cleaned_and_checks_watch():
    checked = check_post(
        {"id": 7, "text": "", "extra": {"k\udc00": ["v\ud800"]}, "watch": ["中信证券"]}, analysis=True
    )
    assert checked.post == {"id": 7, "text": "", "extra": {"k�": ["v�"]}, "watch": ["中信证券"]}
    assert check_post({"text": "x", "watch": "中信证券"}, analysis=True).reason == "watch 应为字符串数组"
    assert "缺少正文" in check_post({"title": "x"}, analysis=True).reason
    assert json.dumps(clean_json({"a": "\ud800"}), ensure_ascii=False).encode("utf-8")
