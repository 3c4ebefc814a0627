"""Topics map posts onto the playbooks' TOPICS; every topic is reachable and priorities hold."""

from __future__ import annotations

import pytest

from nlp.topics import TOPICS, classify
from playbooks.schema import TOPICS as PLAYBOOK_TOPICS

CASES = {
    "交易系统故障": "开盘后APP登不上，委托失败",
    "客户投诉": "乱收费，我要投诉到12386",
    "监管处罚": "收到证监局警示函",
    "员工不当言论": "营业部员工在朋友圈辱骂客户",
    "数据泄露": "我的个人信息被泄露，天天接到骚扰电话",
    "产品亏损/兑付": "理财产品到期无法赎回，延期兑付",
    "其他": "今天开了业绩说明会",
}


@pytest.mark.parametrize("topic", sorted(CASES))
def test_each_topic_from_its_words(topic):
    r = classify(CASES[topic])
    assert r.topic == topic
    assert (r.keywords == ()) == (topic == "其他")


def test_every_playbook_topic_is_reachable():
    reached = {classify(t).topic for t in CASES.values()}
    reached.add(classify("网传", rumor=True).topic)
    reached.add(classify("张明远被留置", executive_mentioned=True).topic)
    assert reached == set(TOPICS) == set(PLAYBOOK_TOPICS)


def test_priorities_and_context_rules():
    assert classify("系统宕机了还乱收费，投诉", rumor=True).topic == "不实信息"
    assert classify("系统宕机，我要投诉").topic == "交易系统故障"  # the outage before the complaint about it
    assert classify("某人被留置").topic == "其他"  # no executive named or titled
    assert classify("董事长被留置").topic == "高管负面"
    assert classify("在朋友圈辱骂").topic == "其他"  # speech needs someone who works there
    exec_neg = classify("张明远太让人失望", executive_mentioned=True, negative=True)
    assert exec_neg.topic == "高管负面" and exec_neg.keywords == ()


def test_hostile_and_empty_text():
    assert classify("").topic == "其他" and classify(None).topic == "其他"  # type: ignore[arg-type]
    assert classify("<script>投诉</script>" * 10_000).topic == "客户投诉"


@pytest.mark.parametrize(
    "text",
    [
        "华鼎证券APP从早上开始就登录不了，一直提示网络异常，重装了也不行，有人一样吗？",
        "华鼎证券APP是不是又登录不了了？一直转圈",
        "华鼎证券交易软件连不上，委托下不了",
    ],
)
def test_an_outage_in_everyday_words_is_an_outage(text, analyzer):
    """How customers really write it (found by the drill scenarios): no 无法登录, still an outage, flagged."""
    assert classify(text).topic == "交易系统故障"
    post = analyzer.analyze([{"id": "x", "text": text, "source": "微博"}])[0]
    assert post["flagged"] and post["topic"] == "交易系统故障"
