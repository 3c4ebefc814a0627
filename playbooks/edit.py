"""Admins edit the playbook library: read a playbook's YAML, check an edited text, save it with history.

- ``read_source`` gives a playbook's file text and its SHA-256 (the editor keeps the hash it started from).
- ``check_text`` validates a text exactly as the library loader would (YAML with unique keys, then
  ``schema.parse_playbook``), plus what the library needs of it (the id free, one fallback at most),
  and raises ``PlaybookEditError`` whose problems are short Chinese sentences naming the line or field.
- ``save_playbook`` checks the actor's right (``playbook.edit``: admins), refuses a stale edit (the file
  changed since it was read), keeps the previous text in ``<library>/.history/<id>-<UTC time>.yaml``,
  writes the new file atomically (temporary file, fsync, rename) and records the change in the audit
  trail: who, when, the playbook id, and the old and new SHA-256.

The library is read again by ``yuqing.context.Context.playbooks`` when its files change
(``library_signature``), so the desk and the ingest process use an edit without a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from playbooks.authz import Actor, require
from playbooks.schema import (
    CLOCKS,
    LEVELS,
    PLACEHOLDERS,
    ROLE_LABELS,
    TOPICS,
    Playbook,
    PlaybookError,
    _UniqueKeyLoader,
    load_playbook,
    parse_playbook,
)
from store.records import audit

HISTORY_DIR = ".history"
MAX_TEXT_CHARS = 200_000  # a playbook is a few kB; this bounds what a form can make the server parse
AUDIT_ACTION = "playbook.edit"


class PlaybookEditError(ValueError):
    """An edit the library cannot take. ``problems`` are (where, Chinese message) pairs, shown as is."""

    def __init__(self, problems: list[tuple[str, str]] | str) -> None:
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = problems
        super().__init__("；".join(f"{w}：{m}" if w else m for w, m in problems))

    def lines(self) -> list[str]:
        """One Chinese line per problem, for the page."""
        return [f"{where}：{msg}" if where else msg for where, msg in self.problems]


@dataclass(frozen=True)
class PlaybookSource:
    id: str
    path: Path
    text: str
    sha256: str


@dataclass(frozen=True)
class SavedEdit:
    playbook: Playbook
    path: Path
    old_sha256: str
    new_sha256: str
    history: Path | None  # where the previous text was kept (None for a new playbook)
    renamed_from: str | None = None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def library_files(directory: str | Path) -> list[Path]:
    """The playbook files of a library, as ``schema.load_library`` reads them."""
    directory = Path(directory)
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def library_signature(directory: str | Path) -> tuple:
    """Changes whenever a playbook file is added, removed or rewritten (name, size, mtime in ns)."""
    sig = []
    for path in library_files(directory):
        try:
            st = path.stat()
        except OSError:
            continue
        sig.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(sig)


def _path_for(directory: Path, playbook_id: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        path = directory / f"{playbook_id}{suffix}"
        if path.is_file():
            return path
    return None


def read_source(directory: str | Path, playbook_id: str) -> PlaybookSource:
    """The file text of playbook ``playbook_id`` in ``directory`` (UTF-8), with its SHA-256."""
    directory = Path(directory)
    path = _path_for(directory, playbook_id) if _ID.match(playbook_id or "") else None
    if path is None:
        raise PlaybookEditError(f"预案库中没有编号为 {playbook_id!r} 的预案。")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookEditError(f"无法读取预案文件 {path.name}：{exc}") from exc
    return PlaybookSource(id=playbook_id, path=path, text=text, sha256=sha256_text(text))


# --------------------------------------------------------------------------- checking

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

FIELD_LABELS = {
    "id": "编号",
    "name": "名称",
    "description": "说明",
    "version": "版本",
    "fallback": "兜底预案",
    "triggers": "触发条件",
    "topics": "主题",
    "keywords": "关键词",
    "falsity": "不实信息触发",
    "min_level": "最低级别",
    "levels": "分级时限",
    "acknowledge_within": "确认时限",
    "holding_statement_within": "口径发布时限",
    "regulator_report_within": "报告证监局时限",
    "steps": "处置步骤",
    "title": "标题",
    "owner_role": "负责角色",
    "due_minutes": "完成时限（分钟）",
    "due_clock": "完成时限（按时钟）",
    "requires_signoff": "需审批",
    "external": "对外动作",
    "holding_statements": "对外口径",
    "audience": "对象",
    "channels": "发布渠道",
    "template": "口径模板",
    "requires_compliance_signoff": "需合规审核",
    "regulator_report": "监管报告",
    "when": "报告级别",
    "to": "报告对象",
    "how": "报告方式",
    "contents": "报告内容",
    "notes": "备注",
}

_ROLES_TEXT = "、".join(f"{rid}（{label}）" for rid, label in ROLE_LABELS.items())


def _where(field: str) -> str:
    """'steps[2].owner_role' → 'steps[2].owner_role（处置步骤第 3 项 · 负责角色）'."""
    if not field or field == "(top level)":
        return "整份预案"
    parts = re.findall(r"([A-Za-z_]+)|\[(\d+)\]", field)
    labels = []
    for name, index in parts:
        if name:
            if name in LEVELS:
                labels.append(f"{name} 级")
            elif name in FIELD_LABELS:
                labels.append(FIELD_LABELS[name])
        elif labels:
            labels[-1] += f"第 {int(index) + 1} 项"
    return f"{field}（{' · '.join(labels)}）" if labels else field


# custom validators in playbooks/schema.py raise English sentences; these say them in Chinese
_VALUE_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^unknown topic (.+?); valid topics"), "未知的主题 {0}；可用主题：" + "、".join(TOPICS)),
    (re.compile(r"^a topic is listed twice"), "主题重复"),
    (re.compile(r"^keyword (.+) is listed twice"), "关键词 {0} 重复"),
    (re.compile(r"^holding_statement_within must not be shorter"), "口径发布时限不能短于确认时限"),
    (
        re.compile(r"^(\w+) at level (\w+) \((\d+) min\) is slower than at level (\w+) \((\d+) min\)"),
        "{1} 级的 {0}（{2} 分钟）比 {3} 级（{4} 分钟）还慢；级别越高，时限应越短或相同",
    ),
    (re.compile(r"^unknown owner_role '([^']*)' \(write '(\w+)'"), "未知的负责角色 {0!r}，应写作 {1}"),
    (re.compile(r"^unknown owner_role (.+?);"), "未知的负责角色 {0}；可用角色：" + _ROLES_TEXT),
    (re.compile(r"^due_minutes must be 0 or more"), "完成时限不能为负数（从预警打开起算的分钟数）"),
    (re.compile(r"^step (.+?): give exactly one of"), "步骤 {0} 须在 due_minutes 与 due_clock 中二选一"),
    (re.compile(r"^step (.+?): levels must name"), "步骤 {0} 的 levels 至少要有一个级别"),
    (
        re.compile(r"^step (.+?): due_minutes has no value for level (.+)"),
        "步骤 {0} 的 due_minutes 缺少 {1} 级",
    ),
    (re.compile(r"^must be true: every holding statement"), "必须为 true：对外口径发布前都需合规审核"),
    (re.compile(r"^template is not a valid"), "口径模板的占位符写法有误（花括号须成对，如 {{firm}}）"),
    (
        re.compile(r"^unknown placeholder (.+?); allowed"),
        "未知的占位符 {0}；可用：" + "、".join(f"{{{k}}}（{v}）" for k, v in PLACEHOLDERS.items()),
    ),
    (re.compile(r"^name (.+) must be Chinese"), "名称 {0} 须为中文（值班员在值守台上看到它）"),
    (
        re.compile(r"must be a slug"),
        "须为小写英文字母、数字和单个连字符组成的编号（如 trading-system-outage），不超过 80 个字符",
    ),
    (
        re.compile(r"^triggers need at least one topic or keyword"),
        "触发条件至少要有一个主题或关键词（只有兜底预案可以没有）",
    ),
    (re.compile(r"^duplicate step id (.+)"), "步骤编号重复：{0}"),
    (re.compile(r"^duplicate holding statement id (.+)"), "对外口径编号重复：{0}"),
    (
        re.compile(r"^regulator_report\.when includes level (\w+) but"),
        "regulator_report.when 含 {0} 级，但 levels.{0}.regulator_report_within 为空",
    ),
    (
        re.compile(r"^levels\.(\w+)\.regulator_report_within is set but"),
        "levels.{0}.regulator_report_within 已设置，但 regulator_report.when 不含 {0} 级",
    ),
    (
        re.compile(r"^regulator_report\.within_hours is no longer read"),
        "regulator_report.within_hours 已不再使用：报告时限只按级别填写在 levels.<级别>.regulator_report_within"
        "（分钟），请删除 within_hours",
    ),
]


def _value_message(message: str) -> str:
    for pattern, chinese in _VALUE_MESSAGES:
        m = pattern.search(message)
        if m:
            return chinese.format(*m.groups())
    return f"取值无效（{message}）"


def _pydantic_message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "缺少必填字段"
    if err.get("input", "") is None and kind.endswith(("_type", "_parsing")):
        return "不能为空"
    if kind == "extra_forbidden":
        return "未知字段（请检查拼写；可用字段见 playbooks/schema.py）"
    if kind == "value_error":
        return _value_message(str(ctx.get("error", err["msg"])))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "应为整数"
    if kind in ("float_parsing", "float_type"):
        return "应为数字"
    if kind in ("bool_parsing", "bool_type"):
        return "应为 true 或 false"
    if kind in ("string_type",):
        return "应为文字"
    if kind in ("string_too_short",):
        return "不能为空"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length', 1)} 项"
    if kind in ("greater_than",):
        return f"应大于 {ctx.get('gt')}"
    if kind in ("greater_than_equal",):
        return f"应不小于 {ctx.get('ge')}"
    if kind == "literal_error":
        allowed = str(ctx.get("expected", ""))
        if any(c in allowed for c in CLOCKS):
            return f"应为以下之一：{'、'.join(CLOCKS)}"
        return f"应为以下之一：{allowed.replace(' or ', ', ')}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "应为映射（键: 值）"
    if kind in ("list_type", "tuple_type"):
        return "应为列表"
    return f"取值无效（{err['msg']}）"


def _clean_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "int", "dict[", "literal[", "float", "str")):
            continue  # pydantic's union branch tags
        else:
            out += f".{part}" if out else str(part)
    return out


def _chinese_problems(exc: PlaybookError) -> list[tuple[str, str]]:
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return [(_where(exc.field or ""), _value_message(str(exc).split(": ", 1)[-1]))]
    problems: list[tuple[str, str]] = []
    for err in cause.errors(include_url=False):
        problems.append((_clean_loc(err["loc"]), _pydantic_message(err)))
    # a union field reports once per branch: keep the deepest location, its first message
    problems = list(dict.fromkeys(problems))
    fields = [f for f, _ in problems]
    deeper = {f for f in fields if any(o != f and o.startswith((f + ".", f + "[")) for o in fields)}
    seen: set[str] = set()
    out = []
    for field, message in problems:
        if field in deeper or field in seen:
            continue
        seen.add(field)
        out.append((_where(field), message))
    return out


_YAML_PROBLEMS = [
    (re.compile(r"found character '\\t' that cannot start any token"), "不能用制表符（Tab）缩进，请改用空格"),
    (
        re.compile(r"mapping values are not allowed here"),
        "此处不能出现“键: 值”（冒号后的文字请加引号，或检查缩进）",
    ),
    (re.compile(r"could not find expected ':'"), "缺少冒号“:”"),
    (re.compile(r"did not find expected key"), "缩进不一致或缺少键"),
    (re.compile(r"did not find expected '-' indicator"), "列表项缩进不一致（应以“- ”开头）"),
    (re.compile(r"duplicate key (.+)"), "键 {0} 重复"),
    (re.compile(r"found unexpected end of stream"), "引号或括号未闭合"),
    (re.compile(r"could not determine a constructor for the tag (.+)"), "不允许使用 YAML 标签 {0}"),
    (re.compile(r"found undefined alias"), "引用了未定义的锚点（*别名）"),
]


def _yaml_problem(exc: yaml.YAMLError) -> tuple[str, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else "YAML"
    problem = str(getattr(exc, "problem", None) or exc)
    for pattern, chinese in _YAML_PROBLEMS:
        m = pattern.search(problem)
        if m:
            return where, "YAML 格式错误：" + chinese.format(*m.groups())
    return where, f"YAML 格式错误（{problem}）"


def parse_text(text: str) -> Playbook:
    """YAML text → a valid Playbook, or PlaybookEditError with Chinese problems (line/field named)."""
    if not isinstance(text, str) or not text.strip():
        raise PlaybookEditError("预案内容为空。")
    if len(text) > MAX_TEXT_CHARS:
        raise PlaybookEditError(f"预案内容过长（超过 {MAX_TEXT_CHARS} 个字符）。")
    if "\x00" in text:
        raise PlaybookEditError("预案内容含有不可见的控制字符（NUL），请删除后再保存。")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PlaybookEditError([_yaml_problem(exc)]) from exc
    if not isinstance(data, dict):
        raise PlaybookEditError("预案文件须是一个 YAML 映射（以 id: …、name: … 这样的“键: 值”开头）。")
    try:
        return parse_playbook(data, "<edit>")
    except PlaybookError as exc:
        raise PlaybookEditError(_chinese_problems(exc)) from exc


def check_text(text: str, *, directory: str | Path, replacing: str | None = None) -> Playbook:
    """``parse_text`` plus what the library needs: the id not taken by another playbook, one fallback.

    ``replacing`` is the id of the playbook being edited (None for a new one).
    """
    playbook = parse_text(text)
    directory = Path(directory)
    for path in library_files(directory):
        if replacing is not None and path.stem == replacing:
            continue
        if path.stem == playbook.id:
            raise PlaybookEditError(
                [(_where("id"), f"编号 {playbook.id} 已被另一份预案使用（{path.name}），请换一个编号。")]
            )
        if playbook.fallback:
            try:
                other = load_playbook(path)
            except PlaybookError:
                continue  # another file's problem is not this edit's
            if other.fallback:
                raise PlaybookEditError(
                    [(_where("fallback"), f"预案库只能有一份兜底预案，已有：{other.name}（{other.id}）。")]
                )
    return playbook


# --------------------------------------------------------------------------- saving


@contextlib.contextmanager
def _library_lock(directory: Path) -> Iterator[None]:
    """One save at a time per library (two admins saving at once: the second sees the first's hash)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the stale-hash check still refuses most races
        yield
        return
    lock_path = directory / HISTORY_DIR / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def history_of(directory: str | Path, playbook_id: str) -> list[Path]:
    """Earlier versions kept for ``playbook_id``, oldest first."""
    folder = Path(directory) / HISTORY_DIR
    return sorted(folder.glob(f"{playbook_id}-*.yaml")) if folder.is_dir() else []


def save_playbook(
    session,
    actor: Actor | None,
    *,
    directory: str | Path,
    playbook_id: str | None,
    text: str,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> SavedEdit:
    """Save ``text`` as playbook ``playbook_id`` (None: a new playbook) after checking it; audited.

    ``expected_sha256`` is the hash of the text the editor started from: when the file changed since,
    the save is refused rather than overwriting someone else's edit. The audit entry is flushed in
    ``session`` before the file is written, so a database that refuses it leaves the library as it was.
    """
    require(actor, "playbook.edit")
    assert actor is not None
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookEditError(f"预案库目录不存在：{directory}")
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    now = now or datetime.now(UTC)
    try:
        return _save_locked(session, actor, directory, playbook_id, text, expected_sha256, now)
    except OSError as exc:
        raise PlaybookEditError(f"无法写入预案库目录 {directory}：{exc.strerror or exc}") from exc


def _save_locked(session, actor: Actor, directory: Path, playbook_id: str | None, text: str,
                 expected_sha256: str | None, now: datetime) -> SavedEdit:  # fmt: skip
    with _library_lock(directory):
        old = read_source(directory, playbook_id) if playbook_id is not None else None
        if old is not None and expected_sha256 is not None and old.sha256 != expected_sha256:
            raise PlaybookEditError("该预案在你编辑期间已被他人修改并保存，请重新载入后再改。")
        if old is not None and old.text == text:
            raise PlaybookEditError("内容没有变化，无需保存。")
        playbook = check_text(text, directory=directory, replacing=playbook_id)
        path = directory / f"{playbook.id}.yaml"
        history = None
        if old is not None:
            stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            history = directory / HISTORY_DIR / f"{old.id}-{stamp}.yaml"
        new_sha = sha256_text(text)
        audit(
            session,
            actor=actor.username,
            action=AUDIT_ACTION,
            entity="playbook",
            entity_id=playbook.id,
            old_sha256=old.sha256 if old else None,
            new_sha256=new_sha,
            renamed_from=old.id if old and old.id != playbook.id else None,
            history=f"{HISTORY_DIR}/{history.name}" if history else None,
            version=playbook.version,
            at=now.isoformat(),
        )
        session.flush()  # the audit trail takes it before the library changes
        if old is not None and history is not None:
            history.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(history, old.text)
        _write_atomic(path, text)
        if old is not None and old.path != path:
            old.path.unlink()  # renamed: the old id's file is kept in history only
    return SavedEdit(
        playbook=playbook,
        path=path,
        old_sha256=old.sha256 if old else "",
        new_sha256=new_sha,
        history=history,
        renamed_from=old.id if old and old.id != playbook.id else None,
    )
