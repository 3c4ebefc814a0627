"""`yuqing demo`: the main job on the embedded default, against bundled demo sources on 127.0.0.1."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from yuqing.config import load_settings
from yuqing.context import build_context
from yuqing.crawl import crawl_sources

LEVEL_NAMES = {"I": "I级（特别重大）", "II": "II级（重大）", "III": "III级（较大）", "IV": "IV级（一般）"}


def demo_sources_dir() -> Path:
    return Path(str(resources.files("yuqing").joinpath("demo_sources")))


def write_demo_config(workdir: Path, base_url: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    template = (demo_sources_dir() / "demo.toml").read_text(encoding="utf-8")
    path = workdir / "yuqing.toml"
    path.write_text(template.replace("{base_url}", base_url), encoding="utf-8")
    return path


def run_demo(*, workdir: Path, headless: bool, port: int = 8501) -> int:
    from yuqing.localsite import LocalSite

    with LocalSite.from_manifest_file(demo_sources_dir() / "manifest.json") as site:
        config = write_demo_config(workdir, site.base_url)
        settings = load_settings(config)
        print(f"演示信息源 / demo sources: {site.base_url}")
        print(f"演示数据目录 / demo workdir: {workdir}")
        ctx = build_context(settings)
        try:
            result = crawl_sources(ctx)
            print(result.summary())
            print(summarise_store(ctx))
            print(demo_accounts_text(ensure_demo_accounts(ctx)))
        finally:
            ctx.close()
        if headless:
            return 0
        from yuqing.cli import run_desk

        env = dict(os.environ, YUQING_CONFIG=str(config.resolve()))
        return run_desk(env, port=port)


DEMO_ACCOUNTS = (
    ("duty", "officer", "演示值班员"),
    ("manager", "manager", "演示负责人"),
    ("admin", "admin", "演示管理员"),
)


def ensure_demo_accounts(ctx) -> tuple[list[tuple[str, str]], str]:
    """When the store has no users yet: the demo accounts, with one random password made for this run.

    Returns ([(username, role)], password) for the accounts made now, or ([], "") when the store
    already had users (a reused --workdir keeps its accounts). The password is printed once on
    stdout by the caller and kept nowhere else (only its hash is stored; never logged).
    """
    from playbooks import users

    with ctx.records.session() as s:
        if users.count_users(s):
            return [], ""
        password = users.generate_password()
        for username, role, name in DEMO_ACCOUNTS:
            users.create_user(
                s, username=username, role=role, password=password, by="demo", display_name=name
            )
    return [(u, r) for u, r, _ in DEMO_ACCOUNTS], password


def demo_accounts_text(made: tuple[list[tuple[str, str]], str]) -> str:
    accounts, password = made
    if not accounts:
        return "值守台账号沿用本目录已有的用户（yuqing user list 查看）/ desk accounts: the existing users"
    roles = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}
    return "\n".join(
        ["值守台演示账号（密码只显示这一次）/ demo desk accounts (password shown once):"]
        + [f"  {u}（{roles[r]}）" for u, r in accounts]
        + [f"  密码 / password: {password}"]
    )


def summarise_store(ctx) -> str:
    page = ctx.index.search(flagged=True, limit=5)  # the top of the triage queue
    levels = ctx.index.facets(flagged=True)["level"]
    stored = ctx.index.count()
    lines = [
        f"已入库 {stored} 条，预警 {page.total} 条 / stored {stored}, flagged {page.total}",
        "  "
        + "，".join(f"{LEVEL_NAMES[lv]} {levels[lv]}" for lv in ("I", "II", "III", "IV") if levels.get(lv)),
        "最需关注 / top of the triage queue:",
    ]
    for p in page.items:
        title = (p.title or p.text)[:40].replace("\n", " ")
        lines.append(f"  [{p.level}] {p.topic} · {ctx.settings.source_label(p.source)} · {title}")
        lines.append(f"      {'；'.join(p.reasons[:4])}")
    return "\n".join(lines)
