"""The composition root's one object: settings turned into the running parts, built once per process."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbooks.edit import library_signature
from playbooks.matcher import MatchResult, match
from playbooks.schema import PACKAGED_LIBRARY, Playbook, PlaybookError, load_library
from store.models import PostRecord
from store.posts_sqlite import SqlitePostIndex
from store.records import Records
from store.spool import Spool, spool_dir_for
from yuqing.config import ConfigError, Settings

log = logging.getLogger(__name__)
PLAYBOOK_CHECK_SECONDS = 1.0  # how often Context.playbooks looks whether the library's files changed

if TYPE_CHECKING:
    from store.posts_es import EsPostIndex


@dataclass
class Context:
    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ----------------------------------------------------------------- nlp

    @cached_property
    def watch_terms(self) -> list[str]:
        f = self.settings.firm
        terms = [f.name, *f.short_names, *f.stock_codes, *f.executives, *f.products, *f.exclude]
        for w in self.settings.watch:
            terms.extend([w.name, *w.aliases])
        return [t for t in dict.fromkeys(terms) if t]

    @cached_property
    def segmenter(self):
        from nlp.segment import Segmenter

        return Segmenter(self.watch_terms)

    @cached_property
    def analyzer(self):
        from nlp.analyzer import Analyzer
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
            extra=[Entity(name=w.name, aliases=list(w.aliases), kind=w.kind) for w in self.settings.watch],
        )
        risk = self.settings.risk
        return Analyzer(
            watchlist,
            create_sentiment_model(self.settings.model.sentiment_model),
            risk_thresholds=risk.model_dump(),
            segmenter=self.segmenter,
            source_authority={s.name: s.authority for s in self.settings.sources},
            rumor_register=self.rumor_entries(),
            context={  # nlp.context_rules.DeskContext
                "about_firm_sources": [s.name for s in self.settings.sources if s.about_firm],
                "official_accounts": f.official_accounts,
            },
        )

    # ----------------------------------------------------------------- detection state (rumors, events)

    RUMOR_REGISTER_TTL_S = 30.0

    def rumor_entries(self) -> list[Any]:
        """Active entries of the rumor register (records database); [] when it cannot be read."""
        return self._read_rumor_entries() or []

    def _read_rumor_entries(self) -> list[Any] | None:
        """The active entries, or None when the records database cannot be read."""
        import logging

        from sqlalchemy import select

        from nlp.rumor import RegisterEntry
        from store.models import RumorEntry

        store = self.settings.store
        if not store.records_url and not Path(store.path).exists():
            return None  # no store (e.g. `yuqing analyze` on a fresh machine): do not create one
        try:
            with self.records.session() as session:
                rows = session.scalars(select(RumorEntry).where(RumorEntry.active).order_by(RumorEntry.id))
                return [RegisterEntry.coerce(r) for r in rows]  # detached copies, read inside the session
        except Exception as exc:  # a records database that is down must not stop analysis
            logging.getLogger(__name__).warning("rumor register not readable: %s", exc)
            return None

    def refresh_rumor_register(self, *, force: bool = False) -> None:
        """Hand the analyzer the register as it is now (entries added on the desk count within seconds)."""
        import time

        from nlp.rumor import RumorRegister

        now = time.monotonic()
        if not force and now - self.__dict__.get("_register_at", -1e9) < self.RUMOR_REGISTER_TTL_S:
            return
        self.__dict__["_register_at"] = now
        if "analyzer" in self.__dict__:
            entries = self._read_rumor_entries()
            if entries is not None:  # unreadable: keep matching against the entries read last time
                self.analyzer.register = RumorRegister(entries)
        else:
            self.analyzer  # noqa: B018 - built with the register read just now

    @cached_property
    def events(self):
        """Event clustering and bursts, seeded with the stored posts of the last event window."""
        import logging
        from datetime import UTC, datetime

        from nlp.events import EventTracker

        tracker = EventTracker.from_config(
            self.settings.risk, words=self.segmenter.cut, ignore=self.watch_terms
        )
        since = (datetime.now(UTC) - tracker.window).replace(tzinfo=None).isoformat(timespec="seconds")
        try:
            page = self.index.search(since=since, order="newest", limit=2000, drill=None)
            tracker.seed(reversed(page.items))
        except Exception as exc:  # start empty rather than not at all
            logging.getLogger(__name__).warning("events not seeded from the store: %s", exc)
        return tracker

    def firm_volume(self, since, until) -> int:
        """Stored posts that name the firm between two instants (the burst baseline's counts)."""
        from datetime import UTC

        def naive(t):  # the index compares naive UTC timestamps
            return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")

        f = self.settings.firm
        name = (f.short_names[0] if f.short_names else "") or f.name
        page = self.index.search(name, since=naive(since), until=naive(until), limit=0, drill=None)
        return int(page.total)

    # ----------------------------------------------------------------- store

    @cached_property
    def index(self) -> SqlitePostIndex | EsPostIndex:
        """The posts index named by ``store.posts_engine``: same interface, whichever engine."""
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

    @cached_property
    def spool(self) -> Spool:
        """Batches kept on disk while the posts index or the records database is down."""
        store = self.settings.store
        return Spool(spool_dir_for(store.path, store.spool_dir))

    @cached_property
    def records(self) -> Records:
        return Records(self.settings.store.resolved_records_url())

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
        cached = self.__dict__.get("_playbook_cache")  # (signature, library, checked at)
        now = time.monotonic()
        if cached is not None and now - cached[2] < PLAYBOOK_CHECK_SECONDS:
            return cached[1]
        directory = self.playbook_dir
        signature = library_signature(directory)
        if cached is not None and cached[0] == signature:
            self.__dict__["_playbook_cache"] = (signature, cached[1], now)
            return cached[1]
        try:
            library = load_library(directory)
        except PlaybookError as exc:
            if cached is None:
                raise
            log.warning("playbook library not reloaded, keeping the last good one: %s", exc)
            library = cached[1]
        self.__dict__["_playbook_cache"] = (signature, library, now)
        return library

    def reload_playbooks(self) -> list[Playbook]:
        """The library as its files are now (after an edit), without waiting for the next check."""
        cached = self.__dict__.get("_playbook_cache")
        if cached is not None:
            self.__dict__["_playbook_cache"] = (cached[0], cached[1], float("-inf"))
        return self.playbooks

    def match_playbook(self, post: PostRecord) -> MatchResult | None:
        alert: dict[str, Any] = {
            "topic": post.topic,
            "level": post.level,
            "text": f"{post.title}\n{post.text}",
            "falsity_label": post.falsity_label,
        }
        return match(alert, self.playbooks)

    def playbook(self, playbook_id: str | None) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == playbook_id), None)

    def close(self) -> None:
        if "index" in self.__dict__:
            self.index.close()
        if "records" in self.__dict__:
            self.records.dispose()


def build_context(settings: Settings) -> Context:
    load_calendar(settings)
    return Context(settings=settings)


def load_calendar(settings: Settings) -> None:
    """The holiday calendar is process-wide: an entered official schedule joins the package's data."""
    from playbooks import holidays

    path = settings.calendar.official_schedule_file
    if path is None:
        holidays.clear_official_schedule()
        return
    try:
        holidays.load_official_schedule(path)
    except holidays.ScheduleFileError as exc:
        raise ConfigError(f"[calendar] official_schedule_file：{exc}") from exc
