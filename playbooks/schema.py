"""The playbook file format: pydantic models for `playbooks/library/*.yaml` and the loaders.

A playbook (应对预案) says, for one kind of public-opinion event, how fast the desk must act at each
level (I most severe … IV), which steps to take and who owns each, the holding statements (对外口径)
that may be used once compliance has signed them off, and when and how the local CSRC bureau (证监局)
is told.

Text a duty officer reads (names, titles, descriptions, templates) is Chinese; keys, ids and role ids
are English. Owner roles are the English ids in `ROLES`; `ROLE_LABELS` gives their Chinese names.

Loading never half-succeeds: `load_playbook` and `load_library` raise `PlaybookError`, which names the
file and the field (`steps[2].owner_role`, `levels.II.acknowledge_within`, `line 7` for YAML syntax).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# The topic strings the analyzer emits (docs/contracts.md); the matcher keys on these exactly.
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

# I is the most severe, as in Chinese emergency plans (same order as store.models.LEVELS).
LEVELS: tuple[str, ...] = ("I", "II", "III", "IV")
Level = Literal["I", "II", "III", "IV"]

# Owner roles: English ids in files and code, Chinese labels on screen.
ROLE_LABELS: dict[str, str] = {
    "duty_officer": "值班员",
    "manager": "负责人",
    "compliance": "合规",
    "admin": "管理员",
    "customer_service": "客服",
    "it": "信息技术",
}
ROLES: tuple[str, ...] = tuple(ROLE_LABELS)

# The level clocks a step may take its deadline from (`due_clock`).
CLOCKS: tuple[str, ...] = ("acknowledge_within", "holding_statement_within", "regulator_report_within")
Clock = Literal["acknowledge_within", "holding_statement_within", "regulator_report_within"]

# Placeholders a holding statement template may use, with what the desk fills in.
PLACEHOLDERS: dict[str, str] = {
    "firm": "公司名称",
    "app_name": "APP 名称",
    "event_time": "事件发生时间",
    "event_summary": "事件概述",
    "affected_services": "受影响的业务或系统",
    "rumor_summary": "不实信息的内容摘要",
    "facts": "经核实的事实",
    "hotline": "客服热线",
    "website": "公司官网",
    "next_update": "下次更新时间",
    "recovery_time": "恢复时间",
    "release_time": "发布时间",
}

PACKAGED_LIBRARY = Path(__file__).resolve().parent / "library"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class PlaybookError(ValueError):
    """A playbook file (or a library of them) is unreadable or invalid.

    `file` is the path, `field` the first offending field (dotted, `steps[2].owner_role`), and
    `problems` every (field, message) pair found, so an admin can fix them all in one pass.
    """

    def __init__(
        self,
        file: str | Path | None,
        field: str | None,
        message: str,
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.field = field
        self.problems = problems or [(field or "", message)]
        where = ": ".join(part for part in (self.file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


def level_rank(level: str | None) -> int:
    """I → 1 (most severe) … IV → 4; None or unknown → 9 (same convention as store.models)."""
    return LEVELS.index(level) + 1 if level in LEVELS else 9


def _slug(value: str, what: str) -> str:
    if not _SLUG.match(value) or len(value) > 80:
        raise ValueError(
            f"{what} {value!r} must be a slug: lower-case ascii letters, digits and single hyphens "
            "(e.g. 'trading-system-outage'), at most 80 characters"
        )
    return value


# YAML folded scalars (`>-`) join lines with a space; after Chinese punctuation that space is noise.
_FOLD_SPACE = re.compile(r"(?<=[，。；：、！？）」』”])[ \t\n]+")


def _unfold(value: str) -> str:
    return _FOLD_SPACE.sub("", value)


NonBlank = Annotated[str, Field(min_length=1)]
ChineseText = Annotated[str, Field(min_length=1), AfterValidator(_unfold)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --------------------------------------------------------------------------- triggers


class Triggers(_Model):
    """What makes the matcher pick this playbook for an alert."""

    topics: tuple[str, ...] = ()
    keywords: tuple[NonBlank, ...] = ()
    # true: an alert the analyzer labels 'rumor' (不实) scores for this playbook.
    falsity: bool = False
    # Least severe level the playbook applies to: 'III' means I, II and III; None means any level.
    min_level: Level | None = None

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise ValueError(
                f"unknown topic {', '.join(map(repr, unknown))}; valid topics: {', '.join(TOPICS)}"
            )
        if len(set(topics)) != len(topics):
            raise ValueError("a topic is listed twice")
        return topics

    @field_validator("keywords")
    @classmethod
    def _unique_keywords(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for kw in keywords:
            if kw.lower() in seen:
                raise ValueError(f"keyword {kw!r} is listed twice")
            seen.add(kw.lower())
        return keywords


# --------------------------------------------------------------------------- level clocks


class LevelClocks(_Model):
    """Clocks in minutes from the alert opening. null: not required at this level."""

    acknowledge_within: int = Field(gt=0)
    holding_statement_within: int | None = Field(default=None, gt=0)
    regulator_report_within: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _acknowledge_first(self) -> LevelClocks:
        if (
            self.holding_statement_within is not None
            and self.holding_statement_within < self.acknowledge_within
        ):
            raise ValueError("holding_statement_within must not be shorter than acknowledge_within")
        return self

    def minutes(self, clock: str) -> int | None:
        return getattr(self, clock)


class Levels(_Model):
    """One set of clocks per level; all four levels must be present."""

    I: LevelClocks  # noqa: E741 — the level names are Roman numerals
    II: LevelClocks
    III: LevelClocks
    IV: LevelClocks

    def get(self, level: str) -> LevelClocks:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; levels are {', '.join(LEVELS)}")
        return getattr(self, level)

    @model_validator(mode="after")
    def _severer_is_faster(self) -> Levels:
        # A more severe level must never have a slower clock than a milder one.
        for clock in ("acknowledge_within", "holding_statement_within"):
            for severe, mild in zip(LEVELS, LEVELS[1:], strict=False):
                a, b = self.get(severe).minutes(clock), self.get(mild).minutes(clock)
                if a is not None and b is not None and a > b:
                    raise ValueError(
                        f"{clock} at level {severe} ({a} min) is slower than at level {mild} "
                        f"({b} min); a more severe level needs the same or a faster clock"
                    )
        return self


# --------------------------------------------------------------------------- steps


class Step(_Model):
    """One step of the response, in the order the file lists them.

    The deadline is either `due_minutes` from the alert opening (one number, or one per level) or
    `due_clock`, one of the level clocks; a step on a clock that is null at a level is not required
    there. `levels` limits a step to some levels. `external` marks a step that reaches outside the
    firm (public statement, app push, platform report, regulator): a drill must not perform it.
    """

    id: str
    title: NonBlank
    owner_role: str
    description: ChineseText
    due_minutes: int | dict[Level, int] | None = None
    due_clock: Clock | None = None
    requires_signoff: bool = False
    external: bool = False
    levels: tuple[Level, ...] = LEVELS

    @field_validator("id")
    @classmethod
    def _slug_id(cls, value: str) -> str:
        return _slug(value, "step id")

    @field_validator("owner_role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in ROLE_LABELS:
            by_label = {label: rid for rid, label in ROLE_LABELS.items()}
            hint = f" (write {by_label[value]!r} for {value})" if value in by_label else ""
            roles = ", ".join(f"{rid} ({label})" for rid, label in ROLE_LABELS.items())
            raise ValueError(f"unknown owner_role {value!r}{hint}; valid roles: {roles}")
        return value

    @field_validator("due_minutes")
    @classmethod
    def _non_negative(cls, value: int | dict[str, int] | None) -> int | dict[str, int] | None:
        values = value.values() if isinstance(value, dict) else [] if value is None else [value]
        if any(v < 0 for v in values):
            raise ValueError("due_minutes must be 0 or more (minutes from the alert opening)")
        return value

    @model_validator(mode="after")
    def _one_deadline(self) -> Step:
        if (self.due_minutes is None) == (self.due_clock is None):
            raise ValueError(f"step {self.id!r}: give exactly one of due_minutes or due_clock")
        if not self.levels:
            raise ValueError(f"step {self.id!r}: levels must name at least one level")
        if isinstance(self.due_minutes, dict):
            missing = [lv for lv in self.levels if lv not in self.due_minutes]
            if missing:
                raise ValueError(f"step {self.id!r}: due_minutes has no value for level {', '.join(missing)}")
        return self

    @property
    def owner_label(self) -> str:
        return ROLE_LABELS[self.owner_role]

    def due_minutes_at(self, level: str, clocks: LevelClocks) -> int | None:
        """Minutes from opening at `level`, or None where the step does not apply at that level."""
        if level not in self.levels:
            return None
        if self.due_clock is not None:
            return clocks.minutes(self.due_clock)
        if isinstance(self.due_minutes, dict):
            return self.due_minutes[level]
        return self.due_minutes


# --------------------------------------------------------------------------- holding statements


class HoldingStatement(_Model):
    """A holding statement (对外口径) template. Nothing goes out before compliance signs it off."""

    id: str
    title: NonBlank
    audience: NonBlank  # 公众 / 客户 / 媒体 …
    channels: tuple[NonBlank, ...] = ()  # 官网公告 / APP 推送 / 官方微博 / 客服话术 …
    template: ChineseText
    requires_compliance_signoff: bool

    @field_validator("id")
    @classmethod
    def _slug_id(cls, value: str) -> str:
        return _slug(value, "holding statement id")

    @field_validator("requires_compliance_signoff")
    @classmethod
    def _signoff_required(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(
                "must be true: every holding statement needs compliance sign-off (合规审核) "
                "before it is released"
            )
        return value

    @field_validator("template")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise ValueError(f"template is not a valid {{placeholder}} template: {exc}") from exc
        bad = [n for n in names if n not in PLACEHOLDERS]
        if bad:
            allowed = ", ".join(f"{{{k}}}" for k in PLACEHOLDERS)
            raise ValueError(
                f"unknown placeholder {', '.join('{' + n + '}' for n in bad)}; allowed: {allowed}"
            )
        return template

    @property
    def placeholders(self) -> tuple[str, ...]:
        names = [n for _, n, _, _ in string.Formatter().parse(self.template) if n]
        return tuple(dict.fromkeys(names))

    def render(self, values: dict[str, str]) -> str:
        """Fill the template; a missing value raises KeyError naming the placeholder."""
        missing = [n for n in self.placeholders if n not in values]
        if missing:
            raise KeyError(f"holding statement {self.id!r} needs values for: {', '.join(missing)}")
        return self.template.format(**values)


# --------------------------------------------------------------------------- regulator report


class RegulatorReport(_Model):
    """When and how the local CSRC bureau (当地证监局) is told.

    How soon is said once, per level: ``levels.<level>.regulator_report_within`` (minutes from the alert),
    the clock the desk counts, the item page shows and the regulator report quotes. A separate
    ``within_hours`` (which could disagree with it) is refused with a message saying where the time goes.
    """

    when: tuple[Level, ...]  # the levels at which a report is required; () = never required
    to: NonBlank = "当地证监局"
    how: tuple[NonBlank, ...] = Field(min_length=1)  # 电话先行报告, 书面报告 …
    contents: tuple[NonBlank, ...] = Field(min_length=1)  # checklist of what the report must contain
    notes: str = ""

    @model_validator(mode="before")
    @classmethod
    def _one_deadline(cls, data: Any) -> Any:
        if isinstance(data, dict) and "within_hours" in data:
            raise ValueError(
                "regulator_report.within_hours is no longer read: the deadline is "
                "levels.<level>.regulator_report_within (minutes), one per level; remove within_hours"
            )
        return data


# --------------------------------------------------------------------------- playbook


class Playbook(_Model):
    id: str
    name: NonBlank
    description: ChineseText
    version: str
    # The fallback playbook is used only when no other playbook matches; a library has one at most.
    fallback: bool = False
    triggers: Triggers
    levels: Levels
    steps: tuple[Step, ...] = Field(min_length=1)
    holding_statements: tuple[HoldingStatement, ...] = ()
    regulator_report: RegulatorReport

    @field_validator("id")
    @classmethod
    def _slug_id(cls, value: str) -> str:
        return _slug(value, "playbook id")

    @field_validator("name")
    @classmethod
    def _chinese_name(cls, value: str) -> str:
        if not _CJK.search(value):
            raise ValueError(f"name {value!r} must be Chinese (it is shown to duty officers)")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        if not self.fallback and not (self.triggers.topics or self.triggers.keywords):
            raise ValueError(
                "triggers need at least one topic or keyword (only the fallback playbook may have none)"
            )
        for kind, items in (("step", self.steps), ("holding statement", self.holding_statements)):
            ids = [item.id for item in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} id {', '.join(dupes)}")
        report = self.regulator_report
        for level in LEVELS:
            minutes = self.levels.get(level).regulator_report_within
            required = level in report.when
            if required and minutes is None:
                raise ValueError(
                    f"regulator_report.when includes level {level} but "
                    f"levels.{level}.regulator_report_within is null"
                )
            if not required and minutes is not None:
                raise ValueError(
                    f"levels.{level}.regulator_report_within is set but regulator_report.when "
                    f"does not include level {level}"
                )
        return self

    def clocks(self, level: str) -> LevelClocks:
        return self.levels.get(level)

    def applies_at(self, level: str | None) -> bool:
        """Whether an alert at `level` reaches this playbook's min_level (None reaches none)."""
        if self.triggers.min_level is None:
            return True
        return level_rank(level) <= level_rank(self.triggers.min_level)


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (check the spelling; see playbooks/schema.py for the allowed fields)",
}


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        # Drop pydantic's union/function-tag segments (e.g. 'int', 'dict[...]') from the location.
        loc = [
            p
            for p in err["loc"]
            if isinstance(p, int) or not str(p).startswith(("function-", "int", "dict[", "literal["))
        ]
        msg = _MESSAGES.get(err["type"], err["msg"])
        msg = msg.removeprefix("Value error, ")
        problems.append((_loc(loc) or "(top level)", msg))
    # A union field reports one error per branch; keep the most specific location and the first message.
    problems = list(dict.fromkeys(problems))
    fields = [f for f, _ in problems]
    deeper = {f for f in fields if any(o != f and o.startswith((f + ".", f + "[")) for o in fields)}
    seen: set[str] = set()
    out = []
    for field, message in problems:
        if field in deeper or field in seen:
            continue
        seen.add(field)
        out.append((field, message))
    return out


def parse_playbook(data: Any, source: str | Path = "<playbook>") -> Playbook:
    """Validate already-parsed YAML data; raise PlaybookError naming `source` and the field."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PlaybookError(source, None, f"a playbook file must be a YAML mapping, got {kind}")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        field, message = problems[0]
        if len(problems) > 1:
            message += "; also: " + "; ".join(f"{f}: {m}" for f, m in problems[1:])
        raise PlaybookError(source, field, message, problems) from exc


# (path, file text) -> its Playbook: the library is read on every Context and desk page, and parsing the
# YAML is ~30 ms a file; the text is read each time, so an edited file is parsed again. Playbooks are frozen.
_PARSED: dict[tuple[str, str], Playbook] = {}
_PARSED_MAX = 512


def load_playbook(path: str | Path) -> Playbook:
    """Read and validate one playbook file; its `id` must equal the file name without `.yaml`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(path, None, f"cannot read the file: {exc}") from exc
    key = (str(path), text)
    cached = _PARSED.get(key)
    if cached is not None:
        return cached
    playbook = _parse_file_text(path, text)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = playbook
    return playbook


def _parse_file_text(path: Path, text: str) -> Playbook:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(path, where, f"malformed YAML: {problem}") from exc
    playbook = parse_playbook(data, path)
    if playbook.id != path.stem:
        raise PlaybookError(path, "id", f"id {playbook.id!r} must match the file name {path.stem!r}")
    return playbook


def load_library(directory: str | Path | None = None) -> list[Playbook]:
    """Load every `*.yaml` / `*.yml` playbook in `directory` (default: the packaged library), sorted by id.

    Raises PlaybookError for the first invalid file, for a duplicate id, for more than one fallback
    playbook and for a directory with no playbooks.
    """
    directory = Path(directory) if directory is not None else PACKAGED_LIBRARY
    if not directory.is_dir():
        raise PlaybookError(directory, None, "playbook directory does not exist")
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise PlaybookError(directory, None, "no playbook files (*.yaml) found")
    by_id: dict[str, tuple[Path, Playbook]] = {}
    fallback: tuple[Path, Playbook] | None = None
    for path in files:
        playbook = load_playbook(path)
        if playbook.id in by_id:
            first = by_id[playbook.id][0]
            raise PlaybookError(path, "id", f"duplicate playbook id {playbook.id!r} (also in {first})")
        by_id[playbook.id] = (path, playbook)
        if playbook.fallback:
            if fallback is not None:
                raise PlaybookError(
                    path, "fallback", f"only one fallback playbook is allowed (already: {fallback[0]})"
                )
            fallback = (path, playbook)
    return [pb for _, pb in sorted(by_id.values(), key=lambda item: item[1].id)]
