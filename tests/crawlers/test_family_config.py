"""Every family is reachable from configuration: the registry, SourceConfig, and the `yuqing init`
template's commented examples (uncommented, they are valid sources whose spiders start)."""

from __future__ import annotations

import json
import re
import tomllib
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError
from scrapy.utils.misc import load_object

from crawlers.families import (
    FAMILIES,
    ArticleOptions,
    SourceOptions,
    SourceOptionsError,
    WeiboOptions,
    parse_options,
)
from crawlers.runner import SPIDER_FAMILIES
from yuqing.config import ConfigError, SourceConfig, load_settings

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


def _weibo(**options) -> dict:
    return {"name": "微博-官微", "family": "weibo", "url": "https://m.weibo.cn", "options": options}


@pytest.mark.parametrize(
    ("options", "option", "why"),
    [
        ({"uids": ["1"], "pagez": 2}, "options.pagez", "unknown option"),  # a misspelt option
        ({"uids": ["1"], "pages": "two"}, "options.pages", "wrong type"),  # a mistyped value
        ({"uids": ["1"], "fetch_long_text": "no"}, "options.fetch_long_text", "wrong type"),
        ({"keywords": [["华鼎"]]}, "options.keywords[0]", "wrong type"),
    ],
)
def test_a_bad_option_is_refused_naming_source_and_option(tmp_path, options, option, why):
    with pytest.raises(ValidationError) as refused:
        SourceConfig(**_weibo(**options))
    assert "微博-官微" in str(refused.value) and option in str(refused.value) and why in str(refused.value)
    # in yuqing.toml: a ConfigError that says which source and which option
    path = tmp_path / "yuqing.toml"
    table = "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in options.items())
    path.write_text(
        '[firm]\nname = "华鼎证券股份有限公司"\n\n[[sources]]\nname = "微博-官微"\nfamily = "weibo"\n'
        f'url = "https://m.weibo.cn"\n[sources.options]\n{table}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as bad_config:
        load_settings(path)
    message = str(bad_config.value)
    assert "配置文件有误" in message and "微博-官微" in message and option in message and why in message
    # and in the crawl process, where the spider checks the options it is handed once more
    with pytest.raises(SourceOptionsError, match=re.escape(option)):
        load_object(SPIDER_FAMILIES["weibo"])(source=_weibo(**options))


def test_an_option_of_another_family_is_refused():
    source = {
        "name": "财联社",
        "family": "cls",
        "url": "https://www.cls.cn",
        "options": {"keywords": ["华鼎"]},
    }
    with pytest.raises(ValidationError, match=r"财联社.*options\.keywords.*unknown option"):
        SourceConfig(**source)


def test_options_keep_their_defaults_and_survive_the_trip_to_the_crawl_process():
    source = SourceConfig(**_weibo(uids=[1000000001, " "], long_text=False, display_name="官微"))
    assert source.label == "官微"
    assert isinstance(source.options, WeiboOptions)
    assert (source.options.uids, source.options.pages, source.options.fetch_long_text) == (
        ["1000000001"],
        1,
        False,
    )
    # the runner writes model_dump as JSON for the child process; the spider validates it again
    dumped = json.loads(json.dumps(source.model_dump(mode="json")))
    spider = load_object(SPIDER_FAMILIES["weibo"])(source=dumped)
    assert spider.options == source.options
    assert (spider.uids, spider.fetch_long_text, spider.status_host) == (
        ["1000000001"],
        False,
        "https://m.weibo.cn",
    )


def test_every_family_has_an_options_model_that_refuses_strangers():
    for family, spec in FAMILIES.items():
        assert spec.options.model_config.get("extra") == "forbid", family
        assert issubclass(spec.options, SourceOptions)
        with pytest.raises(SourceOptionsError, match="options.no_such_option"):
            parse_options(family, {"no_such_option": 1}, source="s")


def test_readme_lists_every_option_of_every_family():
    readme = (TEMPLATE.parents[1] / "README.md").read_text(encoding="utf-8")
    rows: dict[
        str, str
    ] = {}  # the options table comes first; later tables (requests, limits) name families too
    for m in re.finditer(r"^\| `([a-z_]+)` \| [^|]+ \| (.+) \|$", readme, flags=re.M):
        rows.setdefault(m.group(1), m.group(2))
    assert set(rows) >= set(FAMILIES)
    shared = set(ArticleOptions.model_fields)  # the common options and the article selectors: in prose
    for family, spec in FAMILIES.items():
        documented = set(re.findall(r"`([a-z_]+)`", rows[family]))
        assert set(spec.options.model_fields) - shared <= documented, family
    for option in SourceOptions.model_fields:
        assert f"`{option}`" in readme
