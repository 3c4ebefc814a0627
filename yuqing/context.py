"""The composition root's one object: settings turned into the running parts, each built once per process.

A part is built the first time it is used and kept in a private field, so a command that needs only the
records database never loads the model, and a store that is down fails where it is first used. Ingest
(yuqing/ingest.py) runs its steps on these parts; the desk reaches them through ``desk.state``, and the
services in the lower rooms get what they need from here as plain values, sessions and callables
(``readiness_parts``, ``drill_path``, ``notify_config``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from playbooks.edit import library_signature
from playbooks.matcher import MatchResult, match_post
from playbooks.schema import PACKAGED_LIBRARY, Playbook, PlaybookError, load_library
from playbooks.sources import SourceNames
from store.models import PostRecord
from store.posts_sqlite import SqlitePostIndex
from store.records import Records
from store.spool import Spool, spool_dir_for
from yuqing.config import ConfigError, Settings

if TYPE_CHECKING:
    from nlp.analyzer import Analyzer
    from nlp.events import EventTracker
    from nlp.feedback import FeedbackLayer
    from nlp.rumor import RegisterEntry
    from nlp.segment import Segmenter
    from playbooks.drills.runner import LivePath
    from playbooks.notify.channels import NotifyConfig
    from playbooks.readiness import ReadinessParts
    from store.posts_es import EsPostIndex

log = logging.getLogger(__name__)
PLAYBOOK_CHECK_SECONDS = 1.0  # how often Context.playbooks looks whether the library's files changed


class _Library(NamedTuple):
    """The playbook library as last loaded: the files' signature, the playbooks, when the files were looked at."""

    signature: Any
    playbooks: list[Playbook]
    checked_at: float


@dataclass
class Context:
    settings: Settings
    # when the analyzer last got the rumor register (time.monotonic); ingest's refresh step reads it
    rumor_register_read_at: float = field(default=float("-inf"), repr=False)
    # whether ingest has seeded the event state from the store (once per process: yuqing.ingest.seeded_events)
    events_seeded: bool = field(default=False, repr=False)
    # the firm's feedback layer (yuqing/learn.py): when ingest last looked, and the version then active
    feedback_read_at: float = field(default=float("-inf"), repr=False)
    feedback_version: int | None = field(default=None, repr=False)
    _watch_terms: list[str] | None = field(default=None, init=False, repr=False)
    _segmenter: Segmenter | None = field(default=None, init=False, repr=False)
    _analyzer: Analyzer | None = field(default=None, init=False, repr=False)
    _events: EventTracker | None = field(default=None, init=False, repr=False)
    _index: SqlitePostIndex | EsPostIndex | None = field(default=None, init=False, repr=False)
    _spool: Spool | None = field(default=None, init=False, repr=False)
    _records: Records | None = field(default=None, init=False, repr=False)
    _library: _Library | None = field(default=None, init=False, repr=False)

    # ----------------------------------------------------------------- nlp

    @property
    def watch_terms(self) -> list[str]:
        """The firm's names, codes, people and products and every watched entity's names, once each."""
        if self._watch_terms is None:
            f = self.settings.firm
            terms = [f.name, *f.short_names, *f.stock_codes, *f.executives, *f.products, *f.exclude]
            for w in self.settings.watch:
                terms.extend([w.name, *w.aliases])
            self._watch_terms = [t for t in dict.fromkeys(terms) if t]
        return self._watch_terms

    @property
    def segmenter(self) -> Segmenter:
        if self._segmenter is None:
            from nlp.segment import Segmenter

            self._segmenter = Segmenter(self.watch_terms)
        return self._segmenter

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer for the configured firm and watch list, with the rumor register as it is when built
        (ingest's ``refresh_rumor_register`` keeps it current)."""
        if self._analyzer is None:
            from nlp.analyzer import Analyzer
            from nlp.encoder import load_encoder
            from nlp.rescue import load_rescue
            from nlp.sentiment import create_sentiment_model
            from nlp.watchlist import Entity, WatchList

            f = self.settings.firm
            watchlist = WatchList.from_firm(
                name=f.name,
                short_names=f.short_names,
                stock_codes=f.stock_codes,
                executives=f.executives,
                products=f.products,
                exclude=f.exclude,
                extra=[
                    Entity(name=w.name, aliases=tuple(w.aliases), kind=w.kind) for w in self.settings.watch
                ],
            )
            self._analyzer = Analyzer(
                watchlist,
                create_sentiment_model(self.settings.model.sentiment_model),
                risk_thresholds=self.settings.risk.model_dump(),
                segmenter=self.segmenter,
                source_authority={s.name: s.authority for s in self.settings.sources},
                rumor_register=self.read_rumor_register() or [],
                context={  # nlp.context_rules.DeskContext
                    "about_firm_sources": [s.name for s in self.settings.sources if s.about_firm],
                    "official_accounts": f.official_accounts,
                },
                encoder=load_encoder(self.settings.model.encoder),
                rescue=load_rescue(self.settings.model.rescue),
            )
            self._analyzer.feedback = self.read_feedback_layer(self._analyzer)
        return self._analyzer

    def read_feedback_layer(self, analyzer: Analyzer) -> FeedbackLayer | None:
        """The active version of the firm's layer fit on its officers' verdicts (``yuqing learn``), or None."""
        from yuqing.learn import read_active_layer

        return read_active_layer(self, analyzer)

    def read_rumor_register(self) -> list[RegisterEntry] | None:
        """The active entries of the rumor register (records database), or None when it cannot be read.

        Notes the time in ``rumor_register_read_at`` either way: an unreadable database is tried again
        after the refresh interval, not on every batch.
        """
        from sqlalchemy import select

        from nlp.rumor import RegisterEntry
        from store.models import RumorEntry

        self.rumor_register_read_at = time.monotonic()
        store = self.settings.store
        if not store.records_url and not Path(store.path).exists():
            return None  # no store (e.g. `yuqing analyze` on a fresh machine): do not create one
        try:
            with self.records.session() as session:
                rows = session.scalars(select(RumorEntry).where(RumorEntry.active).order_by(RumorEntry.id))
                return [RegisterEntry.coerce(r) for r in rows]  # detached copies, read inside the session
        except Exception as exc:  # a records database that is down must not stop analysis
            log.warning("rumor register not readable: %s", exc)
            return None

    @property
    def events(self) -> EventTracker:
        """Event clustering and bursts, empty when built; ingest seeds it from the store once
        (``yuqing.ingest.seeded_events``)."""
        if self._events is None:
            from nlp.events import EventTracker

            self._events = EventTracker.from_config(
                self.settings.risk, words=self.segmenter.cut, ignore=self.watch_terms
            )
        return self._events

    # ----------------------------------------------------------------- store

    @property
    def index(self) -> SqlitePostIndex | EsPostIndex:
        """The posts index named by ``store.posts_engine``: same interface, whichever engine."""
        if self._index is None:
            self._index = self._open_index()
        return self._index

    @property
    def has_index(self) -> bool:
        """Whether the posts index was opened in this process (``index`` opens it)."""
        return self._index is not None

    def _open_index(self) -> SqlitePostIndex | EsPostIndex:
        store = self.settings.store
        if store.posts_engine == "elasticsearch":
            from store.posts_es import EsPostIndex, make_client

            if not store.elasticsearch_url:
                raise ConfigError("store.posts_engine = 'elasticsearch' 需要 store.elasticsearch_url")
            client = make_client(
                store.elasticsearch_url,
                api_key=self._es_secret("api_key", store.elasticsearch_api_key),
                username=store.elasticsearch_username or self._es_secret("username", None),
                password=self._es_secret("password", store.elasticsearch_password),
                ca_certs=store.elasticsearch_ca_certs or None,
            )
            return EsPostIndex(client, self.segmenter, alias=store.elasticsearch_index)
        return SqlitePostIndex(store.path, self.segmenter)

    def _es_secret(self, name: str, configured: Any) -> str | None:
        """An Elasticsearch credential: from settings (environment), else ``elasticsearch_<name>`` through
        yuqing.secrets (``YUQING_SECRET_ELASTICSEARCH_<NAME>`` or the secrets file)."""
        if configured is not None:
            return (
                configured.get_secret_value() if hasattr(configured, "get_secret_value") else str(configured)
            )
        from yuqing.secrets import get_secret

        return get_secret(f"elasticsearch_{name}", secrets_file=self.settings.secrets_file)

    @property
    def spool(self) -> Spool:
        """Batches kept on disk while the posts index or the records database is down."""
        if self._spool is None:
            store = self.settings.store
            self._spool = Spool(spool_dir_for(store.path, store.spool_dir))
        return self._spool

    @property
    def records(self) -> Records:
        """The records database (alerts, escalations, users, the audit trail …), migrated when opened."""
        if self._records is None:
            self._records = Records(self.settings.store.resolved_records_url())
            self._apply_entered_holidays()
        return self._records

    def _apply_entered_holidays(self) -> None:
        """The holiday notice an admin entered on the desk joins the calendar (playbooks.holidays)."""
        from playbooks import holiday_entries

        try:
            with self._records.session() as s:  # type: ignore[union-attr]
                holiday_entries.apply(s)
        except Exception:  # noqa: BLE001 - a calendar without the entries still works; say so in the log
            log.exception("could not read the holidays entered on the desk")

    # ----------------------------------------------------------------- playbooks

    @property
    def playbook_dir(self) -> Path:
        """Where the playbooks are read from and saved to: ``playbooks_dir`` or the packaged library."""
        return Path(self.settings.playbooks_dir or PACKAGED_LIBRARY)

    @property
    def playbooks(self) -> list[Playbook]:
        """The library, read again when one of its files changed (an admin's edit on the desk).

        The files are looked at (names, sizes, mtimes) at most once per PLAYBOOK_CHECK_SECONDS, so
        matching many posts costs no disk access per post; ``reload_playbooks`` looks at once.
        A library that turns invalid after it loaded keeps the last good one, with a warning: a file
        broken by hand must not stop ingest; the desk's editor refuses invalid text before saving.
        """
        cached = self._library
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < PLAYBOOK_CHECK_SECONDS:
            return cached.playbooks
        directory = self.playbook_dir
        signature = library_signature(directory)
        if cached is not None and cached.signature == signature:
            self._library = _Library(signature, cached.playbooks, now)
            return cached.playbooks
        try:
            library = load_library(directory)
        except PlaybookError as exc:
            if cached is None:
                raise
            log.warning("playbook library not reloaded, keeping the last good one: %s", exc)
            library = cached.playbooks
        self._library = _Library(signature, library, now)
        return library

    def reload_playbooks(self) -> list[Playbook]:
        """The library as its files are now (after an edit), without waiting for the next check."""
        if self._library is not None:
            self._library = self._library._replace(checked_at=float("-inf"))
        return self.playbooks

    @property
    def source_names(self) -> SourceNames:
        """The sources' display names (``[[sources]] options.display_name``) for documents and reasons."""
        return SourceNames({s.name: s.label for s in self.settings.sources})

    def match_playbook(self, post: PostRecord) -> MatchResult | None:
        """The playbook that fits ``post``'s alert in the current library (``playbooks.matcher.match_post``)."""
        return match_post(post, self.playbooks)

    def playbook(self, playbook_id: str | None) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == playbook_id), None)

    # ----------------------------------------------------------------- what the services are handed

    def notify_config(self) -> NotifyConfig:
        """The configured notification channels with their secrets, read now (yuqing/notify.py)."""
        from yuqing.notify import notify_config

        return notify_config(self.settings)

    def readiness_parts(self) -> ReadinessParts:
        """What the holiday readiness gate (playbooks/readiness.py) looks at: this desk's records, posts index
        and playbooks, reached when the gate uses them, and the settings it checks against."""
        from playbooks.readiness import ReadinessParts

        s = self.settings
        return ReadinessParts(
            session=lambda: self.records.session(),
            count_posts=lambda: self.index.count(),
            reload_playbooks=self.reload_playbooks,
            playbook_dir=self.playbook_dir,
            sources=s.sources,
            health=s.health,
            channels=s.notify.channels,
            chain=s.escalation.chain,
            drill_max_age_days=s.readiness.drill_max_age_days,
            channel_test_max_age_days=s.readiness.channel_test_max_age_days,
        )

    def drill_path(self) -> LivePath:
        """What a drill (playbooks/drills/runner.py) goes through: this desk's store and playbooks, and
        ingest's one door with ``drill=True``, reached when the runner uses them."""
        from playbooks.drills.runner import LivePath, firm_label
        from yuqing.ingest import ingest, seeded_events

        def warm_up() -> None:  # the model and the event state loaded, as a running crawler has them
            self.analyzer.analyze([{"text": f"{firm_label(self.settings.firm)}演练预热", "title": ""}])
            seeded_events(self)

        return LivePath(
            session=lambda: self.records.session(),
            posts=lambda: self.index,
            spool=lambda: self.spool,
            playbooks=lambda: self.playbooks,
            firm=self.settings.firm,
            ingest=lambda posts: ingest(posts, ctx=self, drill=True),
            warm_up=warm_up,
        )

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        if self._records is not None:
            self._records.dispose()


def build_context(settings: Settings) -> Context:
    load_calendar(settings)
    return Context(settings=settings)


def load_calendar(settings: Settings) -> None:
    """The holiday calendar is process-wide: an entered official schedule joins the package's data."""
    from playbooks import holidays

    path = settings.calendar.official_schedule_file
    if path is None:
        holidays.clear_file_schedule()
        return
    try:
        holidays.load_official_schedule(path)
    except holidays.ScheduleFileError as exc:
        raise ConfigError(f"[calendar] official_schedule_file：{exc}") from exc
