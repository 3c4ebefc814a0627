"""Capacity at N× the peak (yuqing/stress.py) on a synthetic busiest hour: prints figures, asserts nothing.

    yuqing bench stress [--posts 300] [--minutes 1] [--factor 3] [--duration-limit 60] [--workdir DIR]

Builds a store the way production fills one, through the real ingest: three quiet hours and one busy
hour of Chinese posts about the demo firm 华鼎证券 (about 75 % neutral, 15 % negative with a few
serious complaints and rumors, 10 % positive; one in ten a repost of an earlier post), arriving in
batches of 1–40 as crawlers hand them in, spread over the first ``--minutes`` of the busy hour (a
burst; 60 = the whole hour). Then runs ``yuqing stress`` on it and prints what it prints. The default is
small so CI can run it in well under a minute; ``--posts 3000 --minutes 60`` is a plausible holiday peak
(a full hour at 3× takes 20 minutes: add ``--duration-limit``). ``--workdir DIR`` keeps the config and
store, so ``yuqing --config DIR/yuqing.toml stress --factor 3`` can be run on it again.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

BRANCHES = [
    "上海陆家嘴",
    "北京金融街",
    "深圳福田",
    "杭州西湖",
    "成都天府",
    "武汉光谷",
    "南京新街口",
    "广州天河",
]
NEUTRAL = [
    "华鼎证券{branch}营业部今天举办投资者教育活动，主题是{topic}，现场来了{n}位客户。",
    "华鼎证券发布{month}月经营数据，代理买卖证券业务收入约{n}万元，与上月大致持平。",
    "华鼎证券研究所发布{topic}专题报告，认为相关板块估值处于历史中位附近。",
    "华鼎金管家APP{month}月更新，新增{topic}栏目，客户可在首页查看。",
    "节前最后一个交易日，华鼎证券{branch}营业部提醒客户注意{topic}，假期期间线上业务照常办理。",
    "华鼎证券（609999）今日收盘{n}点附近，成交量较前一交易日小幅变化。",
]
NEGATIVE = [
    "华鼎证券{branch}营业部的客户经理一直推销{topic}产品，电话打了{n}次，太烦人了。",
    "华鼎金管家APP又卡了，登录要转{n}秒，行情刷新不出来，体验很差。",
    "投诉华鼎证券{branch}营业部：销户手续办了{n}天还没办完，工作人员推来推去。",
]
SERIOUS = [
    "华鼎证券APP全面瘫痪，客户无法登录无法交易，委托全部失败，损失惨重，华鼎证券至今没有任何回应！",
    "网传华鼎证券资金链断裂、{branch}营业部被查封，客户资产可能无法取出，大家赶紧转走！",
]
POSITIVE = [
    "华鼎证券获评年度{topic}优秀券商，{branch}营业部服务获得客户好评。",
    "点赞华鼎证券{branch}营业部，假期前专门提醒了{topic}，很贴心。",
]
TOPICS = [
    "新股申购",
    "两融风险",
    "防范非法荐股",
    "养老金融",
    "科技板块",
    "节假日交易安排",
    "基金定投",
    "可转债",
]
SOURCES = [("weibo", "weibo"), ("guba", "guba"), ("xueqiu", "xueqiu"), ("zqgcb", "news_list"), ("cls", "cls")]


def synthetic_posts(n: int, rng: random.Random, tag: str) -> list[dict]:
    posts: list[dict] = []
    for i in range(n):
        roll = rng.random()
        if posts and roll < 0.10:  # a repost of an earlier post: near-duplicate groups, as on Weibo
            text = "转发微博：" + rng.choice(posts)["text"]
        else:
            pool = (
                SERIOUS if roll < 0.12 else NEGATIVE if roll < 0.25 else POSITIVE if roll < 0.35 else NEUTRAL
            )
            text = rng.choice(pool).format(
                branch=rng.choice(BRANCHES),
                topic=rng.choice(TOPICS),
                n=rng.randint(2, 9999),
                month=rng.randint(1, 12),
            )
        source, family = rng.choice(SOURCES)
        posts.append(
            {
                "text": text,
                "title": "" if family in ("weibo", "guba", "xueqiu") else text[:20],
                "source": source,
                "source_family": family,
                "author": f"用户{rng.randint(1000, 99999)}",
                "url": f"https://{source}.example/{tag}/{i}",
                "reposts": int(rng.paretovariate(1.3)) - 1,
                "comments": int(rng.paretovariate(1.5)) - 1,
                "user_followers": int(rng.paretovariate(0.9) * 50),
            }
        )
    return posts


def crawler_arrivals(
    posts: list[dict], start: datetime, seconds: float, rng: random.Random
) -> list[list[dict]]:
    """Batches of 1–40 at random instants in [start, start + seconds), each batch stamped to the second."""
    batches: list[list[dict]] = []
    i = 0
    while i < len(posts):
        size = min(len(posts) - i, rng.randint(1, 40))
        batches.append(posts[i : i + size])
        i += size
    instants = sorted(rng.uniform(0, seconds) for _ in batches)
    for batch, offset in zip(batches, instants, strict=True):
        at = (start + timedelta(seconds=offset)).replace(microsecond=0)
        pub_lag = timedelta(minutes=rng.uniform(1, 30))  # crawled minutes after the author posted
        for p in batch:
            p["first_seen_at"] = at.isoformat()
            p["published_at"] = (at - pub_lag).isoformat()
    return batches


def fill(config: Path, posts_busy: int, minutes: float, rng: random.Random) -> tuple[str, float]:
    """Three quiet hours and the busy hour, through the real ingest; returns the busy hour and the seconds taken."""
    from yuqing.config import load_settings
    from yuqing.context import build_context
    from yuqing.ingest import ingest

    busy = datetime(2026, 10, 1, 1, tzinfo=UTC)  # 09:00 Beijing on National Day
    plan = [(busy - timedelta(hours=h), max(1, posts_busy // 6), 3600.0) for h in (3, 2, 1)]
    plan.append((busy, posts_busy, minutes * 60))
    ctx = build_context(load_settings(config))
    t = time.perf_counter()
    try:
        for k, (start, n, seconds) in enumerate(plan):
            for batch in crawler_arrivals(synthetic_posts(n, rng, f"h{k}"), start, seconds, rng):
                ingest(batch, ctx=ctx, arrived_at=batch[0]["first_seen_at"])  # a feed cannot set it
    finally:
        ctx.close()
    return busy.strftime("%Y-%m-%dT%H"), time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=300, help="posts in the busy hour")
    ap.add_argument("--minutes", type=float, default=1.0, help="they arrive within its first M minutes")
    ap.add_argument("--factor", type=float, default=3.0)
    ap.add_argument("--duration-limit", type=float, default=60.0)
    ap.add_argument("--latency-bound", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, help="keep the config and store here (default: a temporary dir)")
    args = ap.parse_args()
    if not 0 < args.minutes <= 60:
        ap.error("--minutes must be in (0, 60]")

    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="yuqing-bench-stress-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "yuqing.toml"
    if not config.exists():
        config.write_text(FIRM_TOML, encoding="utf-8")
    try:
        from yuqing.config import load_settings
        from yuqing.stress import describe, run_stress

        if not load_settings(config).store.path.exists():
            hour, took = fill(config, args.posts, args.minutes, random.Random(args.seed))
            print(
                f"filled {workdir}: busy hour {hour} UTC with {args.posts} posts in {args.minutes:g} min ({took:.1f} s)"
            )
        result = run_stress(
            load_settings(config),
            factor=args.factor,
            duration_limit=args.duration_limit,
            latency_bound=args.latency_bound,
        )
        print("\n".join(describe(result)))
        print(f"again: yuqing --config {config} stress --factor {args.factor:g}" if args.workdir else "")
        return 0
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
