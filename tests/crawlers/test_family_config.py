"""Every family is reachable from configuration: the registry, SourceConfig, and the `yuqing init`
template's commented examples (uncommented, they are valid sources whose spiders start)."""

from __future__ import annotations

import re
import tomllib
import typing
from pathlib import Path

from scrapy.utils.misc import load_object

from crawlers.runner import SPIDER_FAMILIES
from yuqing.config import SourceConfig

TEMPLATE = Path(__file__).resolve().parents[2] / "yuqing" / "init_template.toml"


def _commented_sources() -> list[dict]:
    text = TEMPLATE.read_text(encoding="utf-8")
    block = text[text.index("# --- 更多信息源示例") :]
    block = block[
        : block.index("\n[", 1)
    ]  # up to the next live section: later commented examples are not sources
    keep = [
        line[2:]
        for line in block.splitlines()
        if line.startswith(("# [[sources]]", "# [sources.options]")) or re.match(r"# [a-z_]+ = ", line)
    ]
    return tomllib.loads("\n".join(keep))["sources"]


def test_registry_and_config_agree():
    literal = typing.get_args(SourceConfig.model_fields["family"].annotation)
    assert set(literal) == set(SPIDER_FAMILIES)
    for family, path in SPIDER_FAMILIES.items():
        assert load_object(path).family == family


def test_template_examples_cover_every_family_and_start():
    examples = _commented_sources()
    plain = tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))["sources"]
    assert {s["family"] for s in examples + plain} == set(SPIDER_FAMILIES)
    for raw in examples:
        source = SourceConfig(**raw).model_dump(mode="json")
        spider = load_object(SPIDER_FAMILIES[source["family"]])(source=source)
        assert spider.source_name == raw["name"]
    assert not any("token" in k for s in examples for k in (s.get("options") or {}))  # no secret in config
