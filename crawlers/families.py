"""The source families: the one list of them, each family's spider and the options its sources may carry.

A ``[[sources]]`` entry names a ``family`` and carries the per-site differences in ``options``. Each family
has an options model here (typed fields, today's defaults) that refuses an option it does not know or a
value of the wrong type, naming the source and the option, so a misspelt ``pagez = 2`` is an error at
``yuqing.toml`` load time instead of a silently ignored line. ``yuqing.config.SourceConfig`` validates
with these models; the spider validates the options again in the crawl process (they travel there as the
JSON the runner writes, ``model_dump`` of the validated model).

Options every family takes: ``display_name`` (what people see, e.g. 证券观察报), ``concurrency`` and
``download_delay`` (per-source politeness, crawlers.politeness). A string option left blank (``""``)
means its default, as it always has; a switch is a TOML boolean (``true`` / ``false``), not a string.
README's "Source families" table lists every family's options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawlers.spiders.common import str_list


def _as_str_list(value: Any) -> Any:
    """One value or a list of strings / numbers → the list of non-blank strings (as the spiders read it);
    anything else is left for pydantic to refuse."""
    if value is None:
        return []
    scalar = isinstance(value, str | int) and not isinstance(value, bool)
    items = [value] if scalar else value
    if isinstance(items, list | tuple) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in items
    ):
        return str_list(items)
    return value


def _as_str_dict(value: Any) -> Any:
    if isinstance(value, dict) and all(isinstance(v, str | int) for v in value.values()):
        return {str(k): str(v) for k, v in value.items()}
    return value


#: a list of strings; one value counts as a list of one, blanks are dropped
StrList = Annotated[list[str], BeforeValidator(_as_str_list)]


class SourceOptions(BaseModel):
    """Options every family takes."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field("", description="what people see (e.g. 证券观察报); empty = the source's name")
    concurrency: int | None = Field(
        None, description="at most this many requests at once to the source's host (DOWNLOAD_SLOTS)"
    )
    download_delay: float | None = Field(None, description="seconds between requests to the source's host")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_default(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation is str and value in (None, ""):
            return field.default
        return value


class ArticleOptions(SourceOptions):
    """Per-site selectors for the generic article extraction (crawlers.extract); empty = the generic rules."""

    title_css: str = ""
    title_xpath: str = ""
    body_css: str = ""
    body_xpath: str = ""
    time_css: str = ""
    time_xpath: str = ""
    author_css: str = ""
    author_xpath: str = ""

    def article_selectors(self) -> dict[str, str]:
        """The selectors set, as ``crawlers.extract.extract_article`` takes them."""
        fields = ArticleOptions.model_fields.keys() - SourceOptions.model_fields.keys()
        return {k: v for k in sorted(fields) if (v := getattr(self, k))}


class RssOptions(ArticleOptions):
    """``rss``: an RSS 2.0 / Atom feed, each item's article page extracted generically."""

    follow_links: StrictBool = Field(True, description="fetch each item's article; false = the feed alone")
    max_items: int = Field(50, description="items taken per run")
    allowed_domains: StrList = Field(default_factory=list, description="article links only to these")


class NewsListOptions(RssOptions):
    """``news_list``: a site without a feed, read through its list pages (a link selector is required)."""

    link_css: str = ""
    link_xpath: str = ""
    link_pattern: str = Field("", description="a regex the absolute link URL must match")
    next_css: str = ""
    next_xpath: str = ""
    max_pages: int = Field(1, description="list pages followed through next_css / next_xpath")
    list_urls: StrList = Field(default_factory=list, description="several list pages; empty = the url")


class WeiboOptions(SourceOptions):
    """``weibo``: account timelines and keyword search on the m.weibo.cn mobile API."""

    uids: StrList = Field(default_factory=list, description="the accounts to watch")
    keywords: StrList = Field(default_factory=list, description="search terms")
    pages: int = Field(1, description="pages per account and per keyword (at least 1)")
    fetch_long_text: StrictBool = Field(
        True, validation_alias=AliasChoices("fetch_long_text", "long_text"), description="complete long posts"
    )
    status_host: str = Field("https://m.weibo.cn", description="host of the post URLs stored")

    @model_validator(mode="before")
    @classmethod
    def _one_long_text(cls, data: Any) -> Any:
        # the alias and the name both given: the name wins, as it always has
        if isinstance(data, dict) and "fetch_long_text" in data and "long_text" in data:
            data = {k: v for k, v in data.items() if k != "long_text"}
        return data


class GubaOptions(ArticleOptions):
    """``guba``: 东方财富股吧 stock bars and site search (article selectors: for the post pages)."""

    stock_codes: StrList = Field(default_factory=list, description="stock bars to read, e.g. 609999")
    keywords: StrList = Field(default_factory=list, description="site search terms")
    pages: int = Field(1, description="list / search pages each (at least 1)")
    page_size: int = Field(10, description="search results per page (at least 1)")
    fetch_detail: Literal["auto"] | StrictBool = Field(
        "auto", description="post pages: auto = only when the list has no text"
    )
    search_url: str = Field("https://search-api-web.eastmoney.com/search/jsonp", description="search API")


class XueqiuOptions(SourceOptions):
    """``xueqiu``: 雪球 search, a stock's posts and account timelines (JSON API, cookie from a secret)."""

    keywords: StrList = Field(default_factory=list)
    symbols: StrList = Field(default_factory=list, description="e.g. SH609999")
    user_ids: StrList = Field(default_factory=list, description="accounts")
    pages: int = Field(1, description="at least 1")
    count: int = Field(10, description="posts per page (at least 1)")
    token_secret: str = Field(
        "xq_a_token", description="NAME of the secret holding the xq_a_token cookie (never the cookie)"
    )
    fetch_detail: StrictBool = Field(True, description="complete truncated posts")
    status_host: str = Field("https://xueqiu.com", description="host of the post URLs stored")


class HeimaoOptions(SourceOptions):
    """``heimao``: 黑猫投诉 complaints naming the firm (search API)."""

    keywords: StrList = Field(default_factory=list, description="the firm's names (required)")
    pages: int = Field(1, description="at least 1")
    page_size: int = Field(10, description="at least 1")
    sign_salt: str = Field("$d6eb7ff91ee257475%", description="the site's public signing salt")
    status_names: Annotated[dict[str, str], BeforeValidator(_as_str_dict)] = Field(
        default_factory=dict, description="status code → name"
    )


class ClsOptions(SourceOptions):
    """``cls``: 财联社 telegraph."""

    rn: int = Field(20, description="items per request (1–100)")
    category: str = Field("", description='"" all, "red" the highlighted ones')
    detail_host: str = Field("https://www.cls.cn", description="host of the post URLs stored")


class BaiduNewsOptions(ArticleOptions):
    """``baidu_news``: Baidu News search results, optionally followed to the articles.

    The result-list selectors are empty by default, meaning the built-in ones
    (crawlers.spiders.baidu_news.DEFAULTS); ``time_css`` serves the result list and the articles alike.
    """

    keywords: StrList = Field(default_factory=list, description="required")
    pages: int = Field(1, description="at least 1")
    follow_links: StrictBool = Field(False, description="false: the result's summary is the post")
    result_css: str = ""
    title_link_css: str = ""
    media_css: str = ""
    summary_css: str = ""


@dataclass(frozen=True)
class FamilySpec:
    spider: str  # dotted path, loaded when a crawl starts (validating a config does not import Scrapy)
    options: type[SourceOptions]


#: THE list of source families: ``family`` in a ``[[sources]]`` entry → its spider and options model
FAMILIES: dict[str, FamilySpec] = {
    "rss": FamilySpec("crawlers.spiders.news.NewsSpider", RssOptions),
    "news_list": FamilySpec("crawlers.spiders.news.NewsListSpider", NewsListOptions),
    "weibo": FamilySpec("crawlers.spiders.weibo.WeiboSpider", WeiboOptions),
    "guba": FamilySpec("crawlers.spiders.guba.GubaSpider", GubaOptions),
    "xueqiu": FamilySpec("crawlers.spiders.xueqiu.XueqiuSpider", XueqiuOptions),
    "heimao": FamilySpec("crawlers.spiders.heimao.HeimaoSpider", HeimaoOptions),
    "cls": FamilySpec("crawlers.spiders.cls.ClsSpider", ClsOptions),
    "baidu_news": FamilySpec("crawlers.spiders.baidu_news.BaiduNewsSpider", BaiduNewsOptions),
}

#: the family names as a type (``SourceConfig.family``), built from FAMILIES so there is one list
FamilyName = Literal[tuple(FAMILIES)]  # type: ignore[valid-type]


class SourceOptionsError(ValueError):
    """A source's options are not what its family takes; the message names the source and each option."""


def options_model(family: str) -> type[SourceOptions]:
    """The options model of ``family`` (only the common options for a family not in FAMILIES)."""
    spec = FAMILIES.get(family)
    return spec.options if spec is not None else SourceOptions


def parse_options(family: str, options: Any, *, source: str) -> SourceOptions:
    """``options`` (a dict, None, or already a model) validated by ``family``'s model.

    Raises :class:`SourceOptionsError` naming ``source`` and every unknown or mistyped option.
    """
    model = options_model(family)
    if isinstance(options, model):
        return options
    if isinstance(options, SourceOptions):
        options = options.model_dump()
    try:
        return model.model_validate(options if options is not None else {})
    except ValidationError as exc:
        raise SourceOptionsError(_explain(exc, model, family=family, source=source)) from None


def _known(model: type[SourceOptions]) -> str:
    names = []
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        others = [a for a in alias.choices if a != name] if isinstance(alias, AliasChoices) else []
        names.append(f"{name} ({', '.join(map(str, others))})" if others else name)
    return ", ".join(names)


def _explain(exc: ValidationError, model: type[SourceOptions], *, family: str, source: str) -> str:
    unknown: list[str] = []
    wrong: dict[str, tuple[Any, list[str]]] = {}  # option → (its value, messages: a union gives several)
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        # ("keywords", 1) → options.keywords[1]; a union member's name in the location is left out
        name = (
            f"options.{loc[0]}" + "".join(f"[{i}]" for i in loc[1:] if isinstance(i, int))
            if loc
            else "options"
        )
        if err["type"] == "extra_forbidden":
            unknown.append(name)
        else:
            wrong.setdefault(name, (err.get("input"), []))[1].append(err["msg"])
    problems = [
        f"{name} = {value!r}: 类型或取值不对 / wrong type or value: {' or '.join(dict.fromkeys(msgs))}"
        for name, (value, msgs) in wrong.items()
    ]
    if unknown:
        problems.append(
            f"{', '.join(unknown)}: 未知选项 / unknown option (family {family!r} takes: {_known(model)})"
        )
    return f"信息源 {source!r} 的选项有误 / source {source!r} has bad options: " + "; ".join(problems)
