"""Topic by keyword rules, onto the TOPICS of docs/contracts.md (the playbook matcher keys on them).

When several topics' keywords occur, the first in :data:`PRIORITY` wins: a rumor is handled as
不实信息 whatever it claims, an outage before the complaint about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TOPICS: tuple[str, ...] = (
    "交易系统故障",
    "客户投诉",
    "监管处罚",
    "高管负面",
    "员工不当言论",
    "不实信息",
    "数据泄露",
    "产品亏损/兑付",
    "其他",
)
OTHER = "其他"
RUMOR = "不实信息"
EXECUTIVE = "高管负面"


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


KEYWORDS: dict[str, tuple[str, ...]] = {
    "交易系统故障": _words(
        "无法登录 无法登陆 登不上 登录不上 登陆不上 进不去 闪退 宕机 崩了 崩溃 "
        "系统故障 交易失败 下单失败 无法下单 委托失败 撤单失败 卡顿 卡死 卡住 "
        "系统异常 服务器 掉线 打不开 无法交易 转账失败 银证转账失败 行情不动 "
        "报错 登录不了 登陆不了 登不进 网络异常 一直转圈 连不上 无法连接 卡了 卡得 一直待报 无法成交 撤不了单 行情延迟 刷新缓慢 刷新慢 不刷新 很卡 太卡 好卡 "
        "老是卡 特别卡 扣款失败 就卡 又卡 总卡 没成交 未成交 纸糊"
    ),
    "数据泄露": _words(
        "泄露 泄漏 个人信息 隐私 信息被卖 数据被盗 被盗号 拖库 撞库 骚扰电话 暗网 倒卖 贩卖 信息被出售 出售客户信息 "
        "账户被盗 资金被盗 被转走 盗刷"
    ),
    "监管处罚": _words(
        "罚单 警示函 立案 处罚 罚款 罚没 证监会 证监局 监管措施 责令改正 责令整改 限期整改 "
        "暂停业务 行政监管 违规 通报批评 纪律处分 自律措施 约谈 整改名单 整治名单 点名批评 市场禁入 禁入措施 "
        "监管谈话 暂停保荐 撤销保荐 暂停新增 责令暂停 公开谴责 谴责"
    ),
    "高管负面": _words(
        "被查 留置 失联 被带走 协助调查 接受调查 纪律审查 监察调查 双开 落马 违纪 被捕 辞职 离职 内幕交易"
    ),
    "员工不当言论": _words(
        "不当言论 炫富 辱骂 怼客户 骂客户 言论不当 歧视 发表言论 朋友圈言论 出言不逊 口出狂言 是韭菜 韭菜活该"
    ),
    # 兑付 alone is routine (按期兑付本息): only its failures count
    "产品亏损/兑付": _words(
        "亏损 爆雷 暴雷 逾期 延期兑付 无法兑付 未能兑付 未兑付 不兑付 不能兑付 难以兑付 拒绝兑付 暂停兑付 "
        "停止兑付 兑付困难 兑付危机 兑付风险 兑付问题 兑付延期 无法赎回 赎回困难 清盘 踩雷 本金 血本无归 违约"
    ),
    "客户投诉": _words(
        "投诉 维权 黑猫 退钱 退款 欺骗 诱导 乱收费 不给办 没人管 不理人 骗子 坑人 销户难 12345 12386 "
        "宰客 坑钱 忽悠 霸王条款 乱扣费 拒绝退费 踢皮球 索赔 要求赔偿"
    ),
}

# a regulator's name alone is no penalty (向证监局投诉, 证监会通报行业数据): it needs a penalty word too
REGULATORS = ("证监会", "证监局")
PENALTY = "监管处罚"
# an employee-speech post needs someone who works there
EMPLOYEE_WORDS = ("员工", "客户经理", "分析师", "研究员", "投顾", "经纪人", "营业部", "工作人员", "首席")
# executive titles: with a 高管负面 keyword these count as the firm's executive even when the person
# is not on the watch list by name
EXECUTIVE_TITLES = ("董事长", "总经理", "总裁", "副总", "高管", "首席执行官", "党委书记", "董秘", "CEO")

PRIORITY: tuple[str, ...] = (
    "不实信息",
    "交易系统故障",
    "数据泄露",
    "监管处罚",
    "高管负面",
    "员工不当言论",
    "产品亏损/兑付",
    "客户投诉",
)


@dataclass(frozen=True)
class TopicResult:
    topic: str
    keywords: tuple[str, ...]  # the keywords that decided it (plus other topics' hits, for reasons)


def _hits(text: str, words: Iterable[str]) -> list[str]:
    out: list[str] = []
    for w in sorted(words, key=len, reverse=True):
        if w in text and not any(w in h for h in out):
            out.append(w)
    out.sort(key=text.find)
    return out


def classify(
    text: str,
    *,
    rumor: bool = False,
    executive_mentioned: bool = False,
    negative: bool = False,
) -> TopicResult:
    """The topic of ``text``.

    ``rumor``: the falsity detector said rumor → 不实信息. ``executive_mentioned``: a watched executive
    is named; with a 高管负面 keyword, or with negative sentiment, the topic is 高管负面.
    """
    text = text or ""
    hits = {t: _hits(text, kws) for t, kws in KEYWORDS.items()}
    exec_hit = hits.get(EXECUTIVE, [])
    has_exec = executive_mentioned or bool(_hits(text, EXECUTIVE_TITLES))
    if not (has_exec and (exec_hit or (negative and executive_mentioned))):
        hits[EXECUTIVE] = []
    elif not exec_hit:
        hits[EXECUTIVE] = ["负面情绪"]
    if hits.get(PENALTY) and all(k in REGULATORS for k in hits[PENALTY]):
        hits[PENALTY] = []
    if hits.get("员工不当言论") and not _hits(text, EMPLOYEE_WORDS):
        hits["员工不当言论"] = []
    all_hits = [k for t in PRIORITY if t != RUMOR for k in hits.get(t, []) if k != "负面情绪"]
    if rumor:
        return TopicResult(RUMOR, tuple(dict.fromkeys(all_hits)))
    for t in PRIORITY:
        if hits.get(t):
            rest = [k for k in all_hits if k not in hits[t]]
            first = [k for k in hits[t] if k != "负面情绪"]
            return TopicResult(t, tuple(dict.fromkeys([*first, *rest])))
    return TopicResult(OTHER, ())
