"""The library covers every situation issue 6 names, and each playbook is picked for a post of its kind.

The posts are written the way they show up on 微博 / 股吧 / 黑猫投诉, about the demo's fictional firm.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from playbooks.matcher import get_playbook, match, steps_with_deadlines
from playbooks.schema import CLOCKS, PLACEHOLDERS, TOPICS, load_library

# The eight situations of issue 6, each with the playbook that handles it and the analyzer topic it keys on.
SITUATIONS: dict[str, tuple[str, str]] = {
    "交易系统故障/无法登录": ("trading-system-outage", "交易系统故障"),
    "客户投诉集中": ("customer-complaints", "客户投诉"),
    "不实信息/谣言": ("false-information", "不实信息"),
    "监管处罚/立案调查": ("regulatory-penalty", "监管处罚"),
    "高管负面": ("executive-negative", "高管负面"),
    "员工不当言论": ("employee-misconduct", "员工不当言论"),
    "数据泄露": ("data-leak", "数据泄露"),
    "产品亏损/兑付风险": ("product-loss", "产品亏损/兑付"),
}
NEW = ("executive-negative", "employee-misconduct", "data-leak", "product-loss")

# playbook id -> (topic the analyzer gives, a realistic post of that kind)
POSTS: dict[str, tuple[str, str]] = {
    "data-leak": ("数据泄露", "华鼎证券客户信息疑遭泄露，有人在群里兜售开户资料，姓名手机号资金账号一应俱全"),
    "executive-negative": ("高管负面", "华鼎证券总经理李静已多日失联，有消息称其被留置接受监察调查"),
    "employee-misconduct": ("员工不当言论", "华鼎证券一客户经理在朋友圈炫富，还辱骂提意见的客户是穷鬼"),
    "product-loss": (
        "产品亏损/兑付",
        "华鼎证券“鼎盈1号”资管计划净值回撤超两成，投资者称无法赎回，担心延期兑付",
    ),
}
# Posts of other kinds that must not go to the playbook named.
UNRELATED: dict[str, tuple[str, str]] = {
    "data-leak": ("交易系统故障", "华鼎证券APP又登录不上了，一直闪退，开盘根本无法交易！"),
    "executive-negative": ("客户投诉", "多名客户在黑猫投诉反映华鼎证券乱收费，佣金比说好的高"),
    "employee-misconduct": ("监管处罚", "华鼎证券收到证监局警示函，被责令改正"),
    "product-loss": ("数据泄露", "华鼎证券客户信息疑遭泄露，有人在群里兜售开户资料"),
}


def post(topic: str, text: str, level: str = "II", falsity_label: str = "none") -> dict:
    return {"topic": topic, "level": level, "text": text, "falsity_label": falsity_label}


def test_library_covers_the_eight_situations_of_issue_6():
    library = {pb.id: pb for pb in load_library()}
    assert len([pb for pb in library.values() if not pb.fallback]) >= 8
    for situation, (pid, topic) in SITUATIONS.items():
        assert pid in library, f"{situation}: no playbook {pid}"
        assert topic in library[pid].triggers.topics, situation
    # every analyzer topic except 其他 has its own playbook, and only one
    for topic in TOPICS:
        if topic == "其他":
            continue
        owners = [pb.id for pb in library.values() if topic in pb.triggers.topics]
        assert len(owners) == 1, (topic, owners)


@pytest.mark.parametrize("pid", NEW)
def test_a_post_of_its_kind_gets_the_playbook(pid):
    topic, text = POSTS[pid]
    result = match(post(topic, text))
    assert result.playbook.id == pid
    assert f"主题匹配：{topic}" in result.why
    assert any(w.startswith("命中关键词") for w in result.why)


@pytest.mark.parametrize("pid", NEW)
def test_keywords_alone_find_the_playbook_when_the_topic_is_missed(pid):
    _, text = POSTS[pid]
    assert match(post("其他", text, "III")).playbook.id == pid


@pytest.mark.parametrize("pid", NEW)
def test_an_unrelated_post_does_not_get_the_playbook(pid):
    topic, text = UNRELATED[pid]
    result = match(post(topic, text))
    assert result.playbook.id != pid


def test_an_investor_education_article_is_no_misconduct_or_product_loss():
    # The demo's one false alarm: warning the public about 荐股群 and 高收益理财 is not an employee touting
    # stocks, nor a product losing money.
    text = "华鼎证券开展防范非法证券活动宣传，揭露“荐股群”“高收益理财”等常见骗局的套路"
    assert match(post("其他", text, "III")).playbook.id == "generic"


def test_a_rumor_about_an_executive_is_handled_as_a_rumor():
    result = match(post("不实信息", "网传华鼎证券总经理李静被带走调查", "I", "rumor"))
    assert result.playbook.id == "false-information"
    assert result.alternatives[0][0] == "executive-negative"


@pytest.mark.parametrize("pb", load_library(), ids=lambda pb: pb.id)
def test_level_i_is_never_looser_than_level_ii(pb):
    """Every clock and every step due at level II is due at level I too, and no later."""
    for clock in CLOCKS:
        severe, mild = pb.clocks("I").minutes(clock), pb.clocks("II").minutes(clock)
        if mild is not None:
            assert severe is not None and severe <= mild, (clock, severe, mild)
    opened = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    level_i = {s["id"]: s["due_minutes"] for s in steps_with_deadlines(pb, "I", opened)}
    for step in steps_with_deadlines(pb, "II", opened):
        assert step["id"] in level_i, step["id"]
        assert level_i[step["id"]] <= step["due_minutes"], step["id"]


@pytest.mark.parametrize("pid", NEW)
def test_new_playbooks_verify_before_speaking_and_report_at_levels_i_and_ii(pid):
    pb = get_playbook(pid)
    ids = [s.id for s in pb.steps]
    statement = ids.index("holding-statement")
    assert ids.index("acknowledge" if "acknowledge" in ids else "acknowledge-and-preserve") == 0
    # someone other than the duty officer checks the facts before anything goes out
    assert any(s.owner_role in {"manager", "it"} for s in pb.steps[1:statement])
    assert any(s.owner_role == "compliance" and s.requires_signoff for s in pb.steps[:statement])
    for step in pb.steps:
        if step.external:
            assert step.requires_signoff or step.id == "platform-report", step.id
    report = next(s for s in pb.steps if s.id == "regulator-report")
    assert report.due_clock == "regulator_report_within" and report.external
    assert set(pb.regulator_report.when) == {"I", "II"}
    assert "证监局" in pb.regulator_report.to
    for level in ("I", "II"):
        assert any(s["id"] == "regulator-report" for s in steps_with_deadlines(pb, level, datetime.now(UTC)))
    assert len(pb.holding_statements) >= 2
    assert all(hs.requires_compliance_signoff for hs in pb.holding_statements)


@pytest.mark.parametrize("pid", NEW)
def test_holding_statements_render_into_plain_chinese(pid):
    values = {name: f"〈{label}〉" for name, label in PLACEHOLDERS.items()}
    values["firm"] = "华鼎证券"
    for hs in get_playbook(pid).holding_statements:
        text = hs.render(values)
        assert all(values[name] in text for name in hs.placeholders), hs.id
        assert not re.search(r"[{}]", text), (hs.id, text)
        assert not re.search(r"[A-Za-z]{3,}", text.replace("APP", "")), (hs.id, text)


def test_data_leak_meets_the_personal_information_protection_law():
    pb = get_playbook("data-leak")
    steps = {s.id: s for s in pb.steps}
    # PIPL art. 57: notify the authority and the people affected, saying what leaked, why, what was done,
    # what they can do themselves, and how to reach the firm.
    notify = steps["notify-customers"]
    assert notify.external and notify.requires_signoff and notify.owner_role == "customer_service"
    for must in ("信息种类", "原因", "危害", "补救措施", "减轻危害", "联系方式"):
        assert must in notify.description, must
    assert "个人信息保护职责的部门" in steps["notify-pi-authority"].description
    assert "个人信息保护法" in pb.regulator_report.notes
    assert any("敏感个人信息" in c for c in pb.regulator_report.contents)
    notice = next(hs for hs in pb.holding_statements if hs.id == "customer-notice")
    assert {"facts", "hotline"} <= set(notice.placeholders)
    assert "修改" in notice.template and "密码" in notice.template
    # nobody buys the leaked data to check it
    assert "严禁" in steps["acknowledge-and-preserve"].description
    # a confirmed leak is reported faster than the public statement at level II
    assert pb.levels.II.regulator_report_within <= pb.levels.II.holding_statement_within


def test_product_loss_statements_promise_no_principal_or_payout():
    pb = get_playbook("product-loss")
    for hs in pb.holding_statements:
        for promise in ("保本", "保收益", "刚性兑付", "全额兑付", "保证兑付", "兜底"):
            assert promise not in hs.template, (hs.id, promise)
    review = next(s for s in pb.steps if s.id == "compliance-review")
    assert "刚性兑付" in review.description and review.requires_signoff
    assert "基金业协会" in pb.regulator_report.notes


def test_executive_playbook_keeps_the_executive_out_of_the_response():
    pb = get_playbook("executive-negative")
    ids = [s.id for s in pb.steps]
    assert ids.index("report-manager") < ids.index("verify-facts") < ids.index("holding-statement")
    assert "回避" in pb.steps[ids.index("report-manager")].description
    assert ids.index("disclosure-assessment") < ids.index("holding-statement")


def test_employee_playbook_preserves_evidence_before_the_post_is_deleted():
    pb = get_playbook("employee-misconduct")
    ids = [s.id for s in pb.steps]
    assert ids.index("acknowledge-and-preserve") < ids.index("interview-employee")
    assert "证据固定之后" in pb.steps[ids.index("interview-employee")].description
    assert {"public-response", "result-notice"} <= {hs.id for hs in pb.holding_statements}


def test_no_line_fold_leaves_a_space_inside_chinese_text():
    # A YAML line break inside a sentence becomes a space unless it follows Chinese punctuation.
    for pb in load_library():
        texts = [
            pb.description,
            *(s.description for s in pb.steps),
            *(h.template for h in pb.holding_statements),
        ]
        for text in texts:
            assert not re.search(r"[\u4e00-\u9fff，。；：、（）“”] [\u4e00-\u9fff（“]", text), (pb.id, text)
