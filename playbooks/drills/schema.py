"""The drill scenario file: a timed series of posts, each with what the desk is expected to do with it.

A scenario is YAML (``playbooks/drills/scenarios/*.yaml``)::

    id: app-outage-rumor
    name: 国庆期间APP无法登录传言
    description: ...
    playbook: system-outage          # the playbook the alerts are expected to follow (optional)
    response_minutes: 30             # how long the desk has after the last post (optional)
    timeline:
      - at: "+0m"                    # minutes from the start: "+5m", "+1h", "+90s" or a number
        post: {title: ..., text: "{firm}APP登录不了", source: 微博, reposts: 12}
        expect: {flag: true, min_level: III, rumor: false}

Texts name the firm through placeholders rendered from the configured firm (``render``), so the
shipped scenarios work for any firm's configuration: ``{firm}`` / ``{short_name}`` (the first short
name), ``{full_name}``, ``{app}`` (``<short name>APP``), ``{executive}`` (the first executive),
``{product}`` (a product). Validation errors are Chinese and name the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
LEVELS = ("I", "II", "III", "IV")  # I is the most severe
PLACEHOLDERS = ("firm", "short_name", "full_name", "app", "executive", "product")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_AT = re.compile(r"^\+?\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?$", re.IGNORECASE)

FIELD_LABELS = {
    "id": "编号",
    "name": "名称",
    "description": "说明",
    "playbook": "预期预案",
    "response_minutes": "响应时长",
    "timeline": "时间线",
    "at": "时间",
    "post": "帖子",
    "expect": "预期",
    "title": "标题",
    "text": "正文",
    "source": "来源",
    "url": "链接",
    "author": "作者",
    "reposts": "转发数",
    "comments": "评论数",
    "likes": "点赞数",
    "user_followers": "粉丝数",
    "user_verified": "认证用户",
    "flag": "应预警",
    "min_level": "最低级别",
    "rumor": "不实信息",
    "note": "备注",
    "thresholds": "达标要求",
    "min_discovery_rate": "最低发现率",
    "max_time_to_flag_s": "发现用时上限（秒）",
    "max_time_to_acknowledge_s": "确认用时上限（秒）",
    "max_time_to_escalate_s": "升级用时上限（秒）",
    "min_compliance_rate": "最低时限达标率",
}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is Chinese and names the file and field."""


def parse_at(value: Any) -> float:
    """Minutes from the start: a number (minutes) or "+5m", "+90s", "+1h", "+0"."""
    if isinstance(value, bool):
        raise ValueError('时间应为分钟数或 "+5m" 这样的写法')
    if isinstance(value, int | float):
        minutes = float(value)
    else:
        m = _AT.match(str(value).strip())
        if not m:
            raise ValueError(f'时间 {value!r} 看不懂，应为分钟数或 "+5m"、"+90s"、"+1h"')
        n, unit = float(m.group(1)), (m.group(2) or "m").lower()
        minutes = n / 60 if unit == "s" else n * 60 if unit == "h" else n
    if minutes < 0:
        raise ValueError("时间不能为负数")
    return minutes


class PostSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = ""
    text: str = Field(..., min_length=1)
    source: str = Field(..., min_length=1)
    url: str = ""
    author: str = ""
    reposts: int = Field(0, ge=0)
    comments: int = Field(0, ge=0)
    likes: int = Field(0, ge=0)
    user_followers: int = Field(0, ge=0)
    user_verified: bool = False


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flag: bool
    min_level: Literal["I", "II", "III", "IV"] | None = None
    rumor: bool | None = None

    @model_validator(mode="after")
    def _level_needs_flag(self) -> Expect:
        if self.min_level is not None and not self.flag:
            raise ValueError("不应预警的帖子不能要求最低级别")
        return self


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: float
    post: PostSpec
    expect: Expect
    note: str = ""

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> float:
        return parse_at(value)


class ThresholdSpec(BaseModel):
    """A scenario's own pass marks (playbooks.drills.scoring.Thresholds); unset ones keep the default."""

    model_config = ConfigDict(extra="forbid")

    min_discovery_rate: float | None = Field(None, ge=0, le=1)
    max_time_to_flag_s: float | None = Field(None, ge=0)
    max_time_to_acknowledge_s: float | None = Field(None, ge=0)
    max_time_to_escalate_s: float | None = Field(None, ge=0)
    min_compliance_rate: float | None = Field(None, ge=0, le=1)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{1,79}$")
    name: str = Field(..., min_length=1)
    description: str = ""
    playbook: str | None = None
    response_minutes: float = Field(30, ge=0)
    thresholds: ThresholdSpec = Field(default_factory=ThresholdSpec)
    timeline: list[Step] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _in_order(self) -> Scenario:
        ats = [s.at for s in self.timeline]
        if ats != sorted(ats):
            raise ValueError("时间线应按时间先后排列")
        for i, step in enumerate(self.timeline):
            for name in ("title", "text", "source", "author", "url"):
                bad = [p for p in _PLACEHOLDER.findall(getattr(step.post, name)) if p not in PLACEHOLDERS]
                if bad:
                    raise ValueError(
                        f"timeline[{i}].post.{name}（{FIELD_LABELS[name]}）有未知占位符 {{{bad[0]}}}，"
                        f"可用：{'、'.join('{' + p + '}' for p in PLACEHOLDERS)}"
                    )
        return self

    @property
    def duration_minutes(self) -> float:
        return self.timeline[-1].at

    @property
    def should_flag(self) -> int:
        return sum(1 for s in self.timeline if s.expect.flag)


_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的字段",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "model_type": "应为键值对象",
    "dict_type": "应为键值对象",
    "literal_error": "应为 I、II、III、IV 之一",
    "greater_than_equal": "不能为负数",
    "less_than_equal": "不能大于 1",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "只能用小写字母、数字、- 和 _",
}


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{p}]"]
        else:
            parts.append(str(p))
    path = ".".join(parts) or "（整个文件）"
    last = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    label = FIELD_LABELS.get(last)
    return f"{path}（{label}）" if label else path


def describe_errors(exc: ValidationError) -> str:
    out = []
    for err in exc.errors():
        msg = _MESSAGES.get(err["type"])
        if msg is None:  # our own validators' Chinese text
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
        out.append(f"{_where(tuple(err['loc']))}：{msg}")
    return "；".join(out)


def parse_scenario(data: Any, *, origin: str = "场景") -> Scenario:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{origin}：文件内容应为键值对象（id、name、timeline …）")
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(f"{origin}：{describe_errors(exc)}") from None


def load_scenario(path: Path) -> Scenario:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"无法读取场景文件 {path}：{exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise ScenarioError(f"{Path(path).name}：YAML 格式错误 {where}".strip()) from exc
    return parse_scenario(data, origin=Path(path).name)


def scenario_files(directory: Path | None = None) -> list[Path]:
    return sorted(Path(directory or SCENARIO_DIR).glob("*.yaml"))


def load_scenarios(directory: Path | None = None) -> list[Scenario]:
    scenarios = [load_scenario(p) for p in scenario_files(directory)]
    seen: set[str] = set()
    for s in scenarios:
        if s.id in seen:
            raise ScenarioError(f"场景编号 {s.id} 重复")
        seen.add(s.id)
    return scenarios


def find_scenario(name_or_path: str, directory: Path | None = None) -> Scenario:
    """A scenario by id (or name) from the library, or from a file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_scenario(path)
    for p in scenario_files(directory):
        s = load_scenario(p)
        if name_or_path in (s.id, s.name, p.stem):
            return s
    known = "、".join(p.stem for p in scenario_files(directory))
    raise ScenarioError(f"没有名为 {name_or_path} 的演练场景；可用：{known}")


def placeholders_for(firm: Any) -> dict[str, str]:
    """The placeholder values for a firm (``yuqing.config.FirmConfig`` or anything with its fields)."""
    short_names = list(getattr(firm, "short_names", []) or [])
    full = str(getattr(firm, "name", "") or "")
    short = short_names[0] if short_names else full
    executives = list(getattr(firm, "executives", []) or [])
    products = list(getattr(firm, "products", []) or [])
    return {
        "firm": short,
        "short_name": short,
        "full_name": full or short,
        "app": f"{short}APP",
        "executive": executives[0] if executives else f"{short}一位高管",
        "product": products[1] if len(products) > 1 else products[0] if products else f"{short}理财产品",
    }


def render_text(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render(scenario: Scenario, firm: Any) -> Scenario:
    """The scenario with every placeholder replaced by the configured firm's names."""
    values = placeholders_for(firm)
    steps = []
    for step in scenario.timeline:
        post = step.post.model_copy(
            update={
                name: render_text(getattr(step.post, name), values)
                for name in ("title", "text", "source", "author", "url")
            }
        )
        steps.append(step.model_copy(update={"post": post}))
    return scenario.model_copy(
        update={
            "name": render_text(scenario.name, values),
            "description": render_text(scenario.description, values),
            "timeline": steps,
        }
    )
