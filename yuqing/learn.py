"""`yuqing learn`: the firm's layer refit on its officers' verdicts, switched on, rolled back.

    yuqing learn [--dry-run] [--as USER] [--min-verdicts 30] [--min-each 8] [--min-kept 0.95]
                 [--protect-levels I] [--json]
    yuqing learn --status
    yuqing learn --rollback [--as USER]

The steps (docs/learning.md):

1. the verdicts (playbooks/verdicts.py): 误报 with its reason, and alerts confirmed (确认, 指派) or
   escalated; drills never;
2. each verdict's post, from the posts index (the alert's title and snippet when the index no longer
   has it), read again by the analysis as it is configured now — without any layer — with a recorder in
   the layer's place (nlp.feedback.FeatureRecorder): the features are what the layer will see at run time.
   A post's age is set to the age it had when first seen, so reach per hour reads as it did then;
3. fit and measure (nlp/feedback_fit.py): before (the analysis alone) and after (with the layer,
   cross-validated) on the verdicts; refused with too few verdicts, when it keeps too few confirmed
   alerts, or when it is not better;
4. unless ``--dry-run`` or refused: a new version in the records database (store/feedback_layers.py),
   active at once, the one before kept; an audit row either way (who, when, the figures).

The context reads the active version when it builds the analyzer (:func:`read_active_layer`), and ingest
looks every 30 s whether another version was switched on (:func:`refresh_feedback_layer`), so a running
crawler picks up a new layer or a rollback without a restart. A layer fit on another analysis (another
sentiment model or other ``[risk]`` thresholds) is not applied until it is fit again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlp.feedback import FEATURE_SET_LABELS, FeatureRecorder, FeedbackInput, FeedbackLayer, analysis_signature
from nlp.feedback_fit import LearnOptions, LearnResult, learn_layer
from playbooks.authz import Actor
from playbooks.verdicts import KIND_LABELS, Verdict, collect_verdicts, count_by_kind
from store import feedback_layers
from store.models import PostRecord

if TYPE_CHECKING:
    from nlp.analyzer import Analyzer
    from yuqing.context import Context

log = logging.getLogger(__name__)

REFRESH_S = 30.0  # a version switched on (or rolled back) reaches running ingest within this many seconds
ANALYZE_BATCH = 256
BACKGROUND_POSTS = 5000  # the newest stored posts whose n-grams weigh the memory's (IDF)
RAW_FIELDS = (
    "id",
    "title",
    "text",
    "url",
    "source",
    "source_family",
    "author",
    "reposts",
    "comments",
    "likes",
    "user_followers",
    "user_verified",
)


# --------------------------------------------------------------------------- the active layer at run time


def _has_store(ctx: Context) -> bool:
    store = ctx.settings.store
    return bool(store.records_url) or Path(store.path).exists()


def read_active_layer(ctx: Context, analyzer: Analyzer) -> FeedbackLayer | None:
    """The active version as a layer for ``analyzer``, or None: no store (``yuqing analyze`` on a fresh
    machine), none active, a records database that cannot be read, or a layer fit on another analysis."""
    ctx.feedback_read_at = time.monotonic()
    if not _has_store(ctx):
        ctx.feedback_version = None
        return None
    try:
        with ctx.records.session() as session:
            row = feedback_layers.active_version(session)
            data = (row.id, dict(row.layer or {})) if row is not None else None
    except Exception as exc:  # a records database that is down must not stop analysis
        log.warning("feedback layer not readable: %s", exc)
        return analyzer.feedback if isinstance(analyzer.feedback, FeedbackLayer) else None
    ctx.feedback_version = data[0] if data else None
    if data is None:
        return None
    version, stored = data
    try:
        layer = FeedbackLayer.from_dict(stored, version=version)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("feedback layer v%s not applied: %s", version, exc)
        return None
    if layer.signature != analysis_signature(analyzer):
        log.warning(
            "feedback layer v%s was fit on another analysis (sentiment model or [risk] changed): not applied; "
            "run `yuqing learn` again",
            version,
        )
        return None
    return layer


def refresh_feedback_layer(ctx: Context, *, force: bool = False) -> None:
    """Hand the analyzer the active version when another one was switched on (at most every REFRESH_S)."""
    analyzer = ctx.analyzer
    if not force and time.monotonic() - ctx.feedback_read_at < REFRESH_S:
        return
    ctx.feedback_read_at = time.monotonic()
    if not _has_store(ctx):
        return
    try:
        with ctx.records.session() as session:
            current = feedback_layers.active_version_id(session)
    except Exception as exc:
        log.warning("feedback layer version not readable: %s", exc)
        return
    if current != ctx.feedback_version or force:
        analyzer.feedback = read_active_layer(ctx, analyzer)


# --------------------------------------------------------------------------- learning


@dataclass
class LearnReport:
    verdicts: list[Verdict]
    by_kind: dict[str, int]
    drills_skipped: int
    from_alert: int  # posts no longer in the index: read from the alert's title and snippet
    not_flagged_now: dict[
        str, int
    ]  # verdicts the analysis no longer flags: {"false_positive": n, "confirmed": n}
    result: LearnResult
    signature: str
    options: LearnOptions
    dry_run: bool
    switched_on: int | None = None
    previous: int | None = None
    active_before: dict[str, Any] | None = None  # the active version's own figures when it was fit
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "verdicts": len(self.verdicts),
            "by_kind": self.by_kind,
            "drills_skipped": self.drills_skipped,
            "from_alert": self.from_alert,
            "not_flagged_now": self.not_flagged_now,
            "before": r.before.as_dict(),
            "after_cv": r.after.as_dict() if r.after else None,
            "kept_share": r.kept_share,
            "threshold": r.layer.threshold if r.layer else None,
            "c": r.c,
            "feature_set": r.feature_set,
            "folds": r.fold_count,
            "refusal": r.refusal,
            "dry_run": self.dry_run,
            "switched_on": self.switched_on,
            "previous": self.previous,
            "active_before": self.active_before,
            "options": {
                "min_verdicts": self.options.min_verdicts,
                "min_each": self.options.min_each,
                "min_kept": self.options.min_kept,
                "protect_levels": list(self.options.protect_levels),
            },
        }


def _age_adjusted(post: PostRecord, now: datetime) -> str:
    """``published_at`` moved so the post is as old now as it was when first seen (reach per hour reads
    as it did at ingest); unchanged when either time is unknown."""
    try:
        pub = datetime.fromisoformat(post.published_at.replace("Z", "+00:00"))
        seen = datetime.fromisoformat(post.first_seen_at.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return post.published_at
    pub = pub if pub.tzinfo else pub.replace(tzinfo=UTC)
    seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
    return (now - (seen - pub)).isoformat(timespec="seconds")


def _analysis_input(v: Verdict, post: PostRecord | None, now: datetime) -> dict[str, Any]:
    if post is None:
        return {"id": v.post_id, "title": v.title, "text": v.snippet, "source": v.source}
    d = post.to_dict()
    out = {k: d.get(k) for k in RAW_FIELDS}
    out["published_at"] = _age_adjusted(post, now)
    return out


@dataclass
class Gathered:
    """The verdicts as the layer will see them: one row per verdict, aligned."""

    verdicts: list[Verdict]
    items: list[FeedbackInput | None]  # None: the analysis no longer reads the post as about us
    confirmed: list[int]
    flagged: list[bool]
    protected: list[bool]
    reasons: list[str]
    drills_skipped: int
    from_alert: int
    not_flagged_now: dict[str, int]
    active_before: dict[str, Any] | None
    background: list[str]  # the newest stored posts' texts (not drills): the IDF of the layer's memory
    keys: list[str]  # what fixes the cross-validation folds: the post's content hash (else its id)


def gather(ctx: Context, *, protect_levels: tuple[str, ...]) -> Gathered:
    """Steps 1–2: the verdicts (drills never), their posts read again by the analysis alone, recorded."""
    with ctx.records.session() as session:
        verdicts = collect_verdicts(session)
        active = feedback_layers.active_version(session)
        active_before = (
            {"version": active.id, "figures": dict(active.figures or {})} if active is not None else None
        )
    found: dict[str, PostRecord] = {}
    ids = [v.post_id for v in verdicts]
    for i in range(0, len(ids), 500):
        found.update(ctx.index.get_many(ids[i : i + 500]))
    kept: list[Verdict] = []
    drills = 0
    for v in verdicts:
        post = found.get(v.post_id)
        if post is not None and post.drill:  # the alert lost its drill mark somehow; the post's word counts
            drills += 1
            continue
        kept.append(v)
    now = datetime.now(UTC)
    inputs = [_analysis_input(v, found.get(v.post_id), now) for v in kept]

    analyzer = ctx.analyzer
    recorder = FeatureRecorder()
    saved = analyzer.feedback
    analyzer.feedback = recorder  # the analysis alone, its features recorded
    try:
        for i in range(0, len(inputs), ANALYZE_BATCH):
            analyzer.analyze(inputs[i : i + ANALYZE_BATCH])
    finally:
        analyzer.feedback = saved
    by_id = {str(it.post.get("id")): it for it in recorder.items}
    g = Gathered(
        verdicts=kept,
        items=[],
        confirmed=[],
        flagged=[],
        protected=[],
        reasons=[],
        drills_skipped=drills,
        from_alert=sum(1 for v in kept if v.post_id not in found),
        not_flagged_now={"false_positive": 0, "confirmed": 0},
        active_before=active_before,
        background=_background(ctx),
        keys=[(found[v.post_id].content_hash if v.post_id in found else "") or v.post_id for v in kept],
    )
    for v in kept:
        it = by_id.get(v.post_id)
        is_flagged = bool(it and it.analysis.get("flagged"))
        g.items.append(it)
        g.confirmed.append(1 if v.confirmed else 0)
        g.flagged.append(is_flagged)
        g.protected.append(bool(it and it.analysis.get("level") in protect_levels))
        g.reasons.append(v.reason)
        if not is_flagged:
            g.not_flagged_now["confirmed" if v.confirmed else "false_positive"] += 1
    return g


def _background(ctx: Context) -> list[str]:
    """The texts of the newest stored posts (drills never), as the analyzer reads them (title + text)."""
    try:
        page = ctx.index.search(order="newest", limit=BACKGROUND_POSTS, drill=False)
    except Exception as exc:  # the layer still learns, with the verdicts' own IDF
        log.warning("stored posts not readable for the IDF: %s", exc)
        return []
    return [f"{p.title}\n{p.text}" if p.title else p.text for p in page.items]


def learn(ctx: Context, *, actor: Actor, options: LearnOptions, dry_run: bool = False) -> LearnReport:
    """Gather the verdicts, read their posts through the analysis, fit and measure; switch the layer on
    unless ``dry_run`` or refused. The caller has checked ``actor`` may (``feedback.learn``)."""
    g = gather(ctx, protect_levels=options.protect_levels)
    analyzer = ctx.analyzer
    confirmed, flagged = g.confirmed, g.flagged
    kept, active_before = g.verdicts, g.active_before
    signature = analysis_signature(analyzer)
    result = learn_layer(
        g.items,
        confirmed,
        flagged=flagged,
        protected=g.protected,
        reasons=g.reasons,
        keys=g.keys,
        background=g.background,
        signature=signature,
        options=options,
    )
    report = LearnReport(
        verdicts=kept,
        by_kind=count_by_kind(kept),
        drills_skipped=g.drills_skipped,
        from_alert=g.from_alert,
        not_flagged_now=g.not_flagged_now,
        result=result,
        signature=signature,
        options=options,
        dry_run=dry_run,
        active_before=active_before,
    )
    if dry_run:
        return report
    figures = report.as_dict()
    with ctx.records.session() as session:
        if result.accepted and result.layer is not None:
            n_fp = int(sum(1 for c, f in zip(confirmed, flagged, strict=True) if f and not c))
            n_conf = int(sum(1 for c, f in zip(confirmed, flagged, strict=True) if f and c))
            row = feedback_layers.switch_on(
                session,
                layer=result.layer.to_dict(),
                figures={
                    k: figures[k]
                    for k in ("before", "after_cv", "kept_share", "threshold", "c", "feature_set", "folds")
                },
                signature=signature,
                verdicts=n_fp + n_conf,
                false_positives=n_fp,
                confirmed=n_conf,
                actor=actor.username,
            )
            report.switched_on, report.previous = row.id, row.previous_id
        else:
            feedback_layers.record_refusal(
                session,
                actor=actor.username,
                reason=result.refusal or "",
                figures={k: figures[k] for k in ("verdicts", "by_kind", "before", "after_cv", "kept_share")},
            )
    refresh_feedback_layer(ctx, force=True)  # this process analyses with the new version from now on
    return report


# --------------------------------------------------------------------------- what people read


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _pct3(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def format_report(report: LearnReport) -> str:
    r = report.result
    kinds = "，".join(f"{KIND_LABELS[k]} {n}" for k, n in report.by_kind.items())
    lines = [
        "本司反馈模型 / the firm's feedback layer — yuqing learn"
        + ("（试运行 / dry run）" if report.dry_run else ""),
        f"裁定 / verdicts: {len(report.verdicts)}（{kinds}）；演练不计入"
        + (f"（另有 {report.drills_skipped} 条演练帖子被排除）" if report.drills_skipped else "")
        + (f"；{report.from_alert} 条帖子已不在索引，按预警标题与摘要读取" if report.from_alert else ""),
    ]
    nf = report.not_flagged_now
    if nf["false_positive"] or nf["confirmed"]:
        lines.append(
            f"当前分析已不再预警 / no longer flagged by the analysis: 误报 {nf['false_positive']} 条，"
            f"确认 {nf['confirmed']} 条（后者是分析本身的漏报，反馈模型无法找回）"
        )
    b, a = r.before, r.after
    lines.append("")
    lines.append(f"{'':34s}{'现状 before':>14s}{'启用后 after (CV)':>20s}")
    rows = [
        ("确认预警仍预警 recall", b.recall, a.recall if a else None),
        ("预警中确认的比例 precision", b.precision, a.precision if a else None),
        ("误报仍预警 false positives raised", b.false_positive_rate, a.false_positive_rate if a else None),
        (f"F{report.options.beta:g}", b.f, a.f if a else None),
    ]
    for label, x, y in rows:
        fmt = _pct3 if label.startswith("F") else _pct
        lines.append(f"{label:34s}{fmt(x):>14s}{fmt(y):>20s}")
    lines.append(
        f"{'预警 / 确认 / 误报 flagged':34s}"
        f"{f'{b.flagged:g}/{b.confirmed_flagged:g}/{b.false_positives_flagged:g}':>14s}"
        + (
            f"{f'{a.flagged:.1f}/{a.confirmed_flagged:.1f}/{a.false_positives_flagged:.1f}':>20s}"
            if a
            else f"{'—':>20s}"
        )
    )
    if a is not None:
        lines.append(
            f"交叉验证 {r.fold_count} 折 × {r.after.repeats} 次（每折内再交叉验证选特征、C、阈值与相似度下限）；"
            f"已确认预警保留 {r.kept_share:.0%}；"
            f"选定：{FEATURE_SET_LABELS.get(r.feature_set or '', r.feature_set)}，阈值 {r.layer.threshold:.2f}，"
            f"与历史误报相似度至少 {r.layer.min_similarity:.2f} 才降级，"
            f"C = {r.c:g}；{'、'.join(report.options.protect_levels) or '无'} 级预警从不降级"
            if r.layer
            else ""
        )
    if report.active_before:
        fa = (report.active_before.get("figures") or {}).get("after_cv") or {}
        lines.append(
            f"当前启用 / active now: 第 {report.active_before['version']} 版（启用时交叉验证 recall "
            f"{_pct(fa.get('recall'))}，precision {_pct(fa.get('precision'))}）"
        )
    lines.append("")
    if r.refusal:
        lines.append(f"未启用 / not switched on: {r.refusal}")
    elif report.dry_run:
        lines.append("试运行：符合启用条件，未写入 / dry run: would be switched on; nothing written")
    else:
        prev = f"第 {report.previous} 版" if report.previous else "仅分析（无反馈模型）"
        lines.append(
            f"已启用第 {report.switched_on} 版 / switched on version {report.switched_on}（上一版：{prev}；"
            "回滚：yuqing learn --rollback）；已记入审计日志"
        )
    return "\n".join(lines)


def status_text(ctx: Context) -> str:
    """The active version, whether it applies to the analysis as configured, and the last versions."""
    with ctx.records.session() as session:
        rows = feedback_layers.versions(session, limit=10)
        active = next((r for r in rows if r.active), None) or feedback_layers.active_version(session)
        verdicts = collect_verdicts(session)
        lines = []
        by_kind = count_by_kind(verdicts)
        lines.append(
            f"裁定 / verdicts: {len(verdicts)}（"
            + "，".join(f"{KIND_LABELS[k]} {n}" for k, n in by_kind.items())
            + "）；演练不计入"
        )
        if active is None:
            lines.append("当前未启用本司反馈模型 / no feedback layer active: the analysis alone decides")
        else:
            applies = active.signature == analysis_signature(ctx.analyzer)
            fig = (active.figures or {}).get("after_cv") or {}
            before = (active.figures or {}).get("before") or {}
            lines.append(
                f"当前启用 / active: 第 {active.id} 版，{active.created_by} 于 "
                f"{active.created_at.isoformat(timespec='seconds')} 启用；裁定 {active.verdicts} 条"
                f"（误报 {active.false_positives}，确认 {active.confirmed}）；交叉验证 recall "
                f"{_pct(before.get('recall'))} → {_pct(fig.get('recall'))}，precision "
                f"{_pct(before.get('precision'))} → {_pct(fig.get('precision'))}"
            )
            if not applies:
                lines.append(
                    "  未生效 / not applied: 它是在另一套分析（情感模型或 [risk] 阈值）上训练的，请重新运行 yuqing learn"
                )
        if rows:
            lines.append("版本 / versions:")
            states = {"active": "启用中", "retired": "已被替换", "rolled_back": "已回滚"}
            for r in rows:
                lines.append(
                    f"  第 {r.id} 版  {states.get(r.state, r.state)}  {r.created_at.isoformat(timespec='seconds')}  "
                    f"{r.created_by}  上一版 {r.previous_id or '—'}"
                )
    return "\n".join(lines)


def rollback(ctx: Context, *, actor: Actor) -> str:
    with ctx.records.session() as session:
        off, on = feedback_layers.rollback(session, actor=actor.username)
        off_id, on_id = off.id, on.id if on is not None else None
    refresh_feedback_layer(ctx, force=True)
    now_active = f"第 {on_id} 版" if on_id else "无（仅分析）"
    return f"已回滚 / rolled back: 第 {off_id} 版停用，当前启用：{now_active}；已记入审计日志" + (
        "" if on_id else " / the analysis alone decides"
    )


__all__ = [
    "LearnReport",
    "format_report",
    "learn",
    "read_active_layer",
    "refresh_feedback_layer",
    "rollback",
    "status_text",
]
