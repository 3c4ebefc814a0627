"""desk.ui: the small display helpers (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desk import ui


def test_escape_markdown_leaves_no_markup():
    out = ui.escape_markdown("**粗** <script>alert(1)</script> [a](javascript:x) :red[字] $x$ `c`\n下一行")
    # every ASCII punctuation character is backslash-escaped, line breaks become spaces
    assert "\n" not in out
    for i, ch in enumerate(out):
        if ch in "*<>[]():$`" and (i == 0 or out[i - 1] != "\\"):
            pytest.fail(f"unescaped {ch!r} at {i} in {out!r}")
    assert "粗" in out and "下一行" in out


def test_plain_drops_control_and_bidi_characters_and_cuts():
    assert ui.plain("a\x00b\u202ec\nd") == "abc\nd"
    assert ui.plain("华鼎证券" * 10, limit=5) == "华鼎证券…"
    assert ui.plain(None) == ""


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://weibo.com/123", True),
        ("http://example.com/a?b=1", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.com/x", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url_only_http_and_https(url, ok):
    assert (ui.safe_url(url) is not None) is ok


def test_times_are_shown_in_beijing_time():
    assert ui.format_time("2024-10-01T18:13:00+00:00") == "2024-10-02 02:13"
    assert ui.format_time("2024-10-01T02:13:00+08:00") == "2024-10-01 02:13"
    assert ui.format_time(datetime(2024, 10, 1, 18, 13)) == "2024-10-02 02:13"  # naive = UTC (the store)
    assert ui.format_time("") == "—"
    assert ui.format_time("昨天") == "昨天"


def test_durations_and_deadlines():
    now = datetime(2024, 10, 1, 0, 0, tzinfo=UTC)
    assert ui.format_duration(5) == "5 分钟"
    assert ui.format_duration(90) == "1 小时 30 分"
    assert ui.format_duration(1500) == "1 天 1 小时"
    assert ui.format_deadline(datetime(2024, 10, 1, 0, 30, tzinfo=UTC), now) == "剩余 30 分钟"
    assert ui.format_deadline(datetime(2024, 9, 30, 23, 0, tzinfo=UTC), now) == "已超时 1 小时"
    assert ui.format_age("2024-09-30T22:00:00+00:00", now) == "2 小时"


def test_labels():
    assert ui.level_badge("I") == ("I 级 · 特别重大", "red")
    assert ui.level_badge("IV")[1] == "blue"
    assert ui.level_badge(None) == ("未定级", "gray")
    assert ui.sentiment_label("negative") == "负面"
    assert ui.alert_status_label("escalated") == "已立案"
    assert (
        ui.format_scores({"negative": 0.9, "neutral": 0.06, "positive": "x"}) == "负面 90%　中性 6%　正面 —"
    )


def test_every_audited_action_has_a_chinese_label():
    """The audit trail on the desk reads in Chinese: any action written anywhere has a label."""
    import re
    from pathlib import Path

    from desk.ui import AUDIT_ACTION_LABELS

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(
        r'action="([a-z_]+\.[a-z_]+)"|_audit\(\s*session,\s*actor,\s*"([a-z_]+\.[a-z_]+)"'
        r'|"(statement\.(?:approved|rejected))"'
    )
    actions: set[str] = set()
    for folder in ("playbooks", "store", "yuqing", "desk"):
        for path in (root / folder).rglob("*.py"):
            for m in pattern.finditer(path.read_text(encoding="utf-8")):
                actions.add(next(g for g in m.groups() if g))
    assert len(actions) > 20  # the scan found the audit calls
    missing = sorted(a for a in actions if a not in AUDIT_ACTION_LABELS)
    assert not missing, f"audit actions without a Chinese label in desk/ui.py: {missing}"
