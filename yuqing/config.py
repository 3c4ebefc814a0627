"""Typed settings: ``yuqing.toml`` plus environment variables.

Precedence (highest first): keyword arguments, environment variables (``YUQING_`` prefix,
``__`` between nested names, e.g. ``YUQING_STORE__PATH=/data/yuqing.db``), the TOML file
(``$YUQING_CONFIG`` or ``./yuqing.toml``), then the defaults below.

Secrets (desk passwords, bot tokens, cookies) never live in this file's defaults or in the repo:
they come from the environment or from the secrets file named by ``secrets_file``.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, SerializeAsAny, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crawlers.families import FAMILIES, FamilyName, SourceOptions, parse_options

CONFIG_ENV = "YUQING_CONFIG"
DEFAULT_CONFIG_NAME = "yuqing.toml"


class FirmConfig(BaseModel):
    """The watched firm: every way people name it."""

    name: str = Field(..., description="full registered name, e.g. 华鼎证券股份有限公司")
    short_names: list[str] = Field(default_factory=list)
    stock_codes: list[str] = Field(default_factory=list)
    executives: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list, description="products, funds and app names")
    exclude: list[str] = Field(
        default_factory=list,
        description="look-alike names that are NOT the firm (e.g. a bank sharing the brand); each also covers "
        "every longer name that begins with it, so a look-alike's product series goes here by its prefix",
    )
    official_accounts: list[str] = Field(
        default_factory=list,
        description="author names of the firm's own accounts besides its names (its posts are its own "
        "announcements, never alerts)",
    )


class WatchEntity(BaseModel):
    """An extra watched entity (subsidiary, brand) besides the firm itself."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    kind: str = "entity"


class SourceConfig(BaseModel):
    """One source. Per-site differences are data: selectors and options live here, not in code."""

    name: str
    family: FamilyName = Field(  # type: ignore[valid-type]
        ..., description="the spider (crawlers.families.FAMILIES); README lists each family's options"
    )
    url: str = Field(..., description="feed URL (rss), list page (news_list) or the site's base URL")
    enabled: bool = True
    interval_minutes: int = Field(30, ge=1)
    authority: float = Field(0.5, ge=0.0, le=1.0, description="how much weight a post here carries")
    about_firm: bool = Field(
        False,
        description="every post here is about the firm, named or not (its own 股吧 bar, its official account)",
    )
    # the family's options model (crawlers.families): an unknown or mistyped option is refused, naming
    # the source and the option; dumped with every field of that model, not only the base's
    options: SerializeAsAny[SourceOptions] = Field(default_factory=SourceOptions)

    @model_validator(mode="before")
    @classmethod
    def _family_options(cls, data: Any) -> Any:
        if isinstance(data, dict):
            family, name = data.get("family"), data.get("name")
            # an unknown family is reported by `family` itself; its options are not judged
            raw = data.get("options") if family in FAMILIES else None
            data = {**data, "options": parse_options(str(family), raw, source=str(name or "?"))}
        return data

    @property
    def label(self) -> str:
        """What a person sees: ``options.display_name`` (e.g. 证券观察报) or the source's name."""
        return self.options.display_name or self.name


class StoreConfig(BaseModel):
    path: Path = Path("yuqing.db")
    posts_engine: Literal["sqlite", "elasticsearch"] = "sqlite"
    records_url: str = Field("", description="SQLAlchemy URL for records; empty = the embedded SQLite file")
    elasticsearch_url: str = ""
    elasticsearch_index: str = Field("yuqing-posts", description="the alias; indices are <alias>-v<N>")
    elasticsearch_username: str = ""
    # credentials: YUQING_STORE__ELASTICSEARCH_PASSWORD / _API_KEY, or [elasticsearch] in secrets_file
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: str = ""
    spool_dir: Path | None = Field(
        None, description="batches kept while the store is down; default: <path>.spool next to the store"
    )

    def resolved_records_url(self) -> str:
        return self.records_url or f"sqlite:///{self.path}"


class ModelConfig(BaseModel):
    sentiment_model: str = Field(
        "builtin",
        description="'builtin' (shipped model), a local Hugging Face directory, or a hub name",
    )
    # the fine-tuned encoder that reads posts about a watched entity beside the linear models
    # (nlp/encoder.py): 'builtin' (the shipped nlp/models/encoder-e5), 'none', or a directory written by
    # `python -m nlp.training encoder`
    encoder: str = Field("none", description="'builtin', 'none', or an encoder directory")
    # the learned second look at posts that name us and that the rules did not flag (nlp/rescue.py, trained
    # on bench/e2e's labelled material): 'builtin' (nlp/models/rescue-linear), 'none', or a directory
    # written by `python -m nlp.training rescue train --out DIR`
    rescue: str = Field("builtin", description="'builtin', 'none', or a rescue model directory")


class RiskConfig(BaseModel):
    """Thresholds that turn analysis into a level (I is the most severe)."""

    negative_threshold: float = 0.55
    rumor_threshold: float = 0.5
    reach_high: int = 10_000
    reach_very_high: int = 100_000
    # reach per hour since publication at or above this raises the level by one (fast-spreading posts)
    velocity_high: int = Field(2_000, ge=1)
    # source authority at or above this (official media, regulator) raises the level by one
    authority_high: float = Field(0.8, ge=0.0, le=1.0)
    # the rumor model alone calls a post 不实 this sure (cues and the rumor register need less); the
    # shipped model is trained with finance posts as non-rumors, so 0.5 (its classifier threshold) holds
    rumor_model_threshold: float = Field(0.5, ge=0.0, le=1.0)
    # events: a post joins a live event of its target within this many hours when this share of its
    # keywords are among the event's most frequent ones
    event_window_hours: float = Field(72, gt=0)
    event_similarity: float = Field(0.3, gt=0.0, le=1.0)
    # burst: posts in the last burst_window_minutes ≥ burst_ratio × the rate of the burst_baseline_hours
    # before, and at least burst_min_posts; raises a flagged post's level by one
    burst_window_minutes: int = Field(60, ge=1)
    burst_baseline_hours: float = Field(24, gt=0)
    burst_ratio: float = Field(3.0, ge=1.0)
    burst_min_posts: int = Field(5, ge=1)


class DeskConfig(BaseModel):
    base_url: str = "http://127.0.0.1:8501"
    # sign-in (playbooks/users.py): session lifetimes and the failed-login limit
    session_idle_minutes: float = Field(30.0, gt=0, description="a desk session ends after this long unused")
    session_max_hours: float = Field(12.0, gt=0, description="a desk session ends this long after sign-in")
    max_failed_logins: int = Field(5, ge=1, description="failed sign-ins within lockout_minutes that lock")
    lockout_minutes: float = Field(15.0, gt=0, description="the failure window and how long a lock lasts")
    oidc: bool = Field(
        False, description="offer 单点登录 via st.login() (needs [auth] in .streamlit/secrets.toml)"
    )
    queue_refresh_seconds: int = Field(
        30, ge=5, le=3600, description="the triage queue reloads itself this often (each person can pause it)"
    )
    watch_clocks: bool = Field(
        True,
        description="`yuqing desk` also checks the clocks (unacknowledged alerts, records) and delivers the "
        "outbox, as `yuqing schedule` does, so nothing waits for `yuqing clocks`",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_users_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "users" in data:
            raise ValueError(
                "[[desk.users]] is no longer read: desk accounts live in the store; "
                "add them with `yuqing user add NAME --role officer|manager|admin` (docs/sign-in.md)"
            )
        return data


class CrawlConfig(BaseModel):
    """How we crawl: who we say we are, and whether unchanged items are skipped."""

    contact_url: str = Field(
        "", description="a page where site operators can reach us; goes into the User-Agent"
    )
    seen_store: bool = Field(True, description="skip items stored before in the same version")
    redis_url: str = Field(
        "",
        description="scale-out: a Redis URL (redis://host:6379/0) makes every crawl process share one "
        "scrapy-redis queue (docs/scale-out.md); empty = each process crawls on its own",
    )


class ScheduleConfig(BaseModel):
    """`yuqing schedule`: each enabled source every interval_minutes (× holiday_factor on holidays)."""

    holiday_factor: float = Field(0.5, gt=0.0, le=1.0, description="interval multiplier in holiday mode")
    run_timeout_minutes: float = Field(15.0, gt=0.0, description="a crawl running longer is stopped")
    sweep_minutes: float = Field(
        10.0, ge=0.0, description="open the alert of any flagged post without one this often (0: never)"
    )


class HealthConfig(BaseModel):
    """When a source counts as silent or failing (store/health.py)."""

    silent_factor: float = Field(
        3.0, gt=0.0, description="silent after interval_minutes × this without new items"
    )
    baseline_runs: int = Field(10, ge=2, description="recent runs that set a source's usual error rate")
    error_rate_jump: float = Field(
        0.5, gt=0.0, le=1.0, description="failing when the recent error rate exceeds the baseline by this"
    )
    recent_runs: int = Field(3, ge=1, description="runs that count as 'recent' for the error rate")


class NotifyChannelConfig(BaseModel):
    """One notification channel. Secrets are named here, never written here: ``webhook_secret = "wecom_duty"``
    means the webhook URL is in ``YUQING_SECRET_WECOM_DUTY`` or the secrets file."""

    model_config = ConfigDict(extra="forbid")  # a pasted `webhook = "https://…"` is an error, not ignored
    name: str = Field(..., pattern=r"^[^@\s]{1,60}$", description="what outbox rows name as target (no @)")
    kind: Literal["wecom", "dingtalk", "feishu", "email"]
    webhook_secret: str = Field("", description="name of the secret holding the bot's webhook URL")
    sign_secret: str = Field("", description="name of the secret holding the 钉钉/飞书 signing secret (加签)")
    format: Literal["markdown", "text"] = "markdown"
    to: list[str] = Field(default_factory=list, description="email: recipient addresses")


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # `password = …` is refused: name a secret instead
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = Field(False, description="implicit TLS (usually port 465) instead of STARTTLS")
    username: str = ""
    password_secret: str = Field("", description="name of the secret holding the SMTP password")
    from_addr: str = ""
    ca_file: str = Field("", description="a private CA bundle for the mail server; empty = the system's")
    timeout_seconds: float = Field(15.0, gt=0)


class NotifyConfig(BaseModel):
    """`[notify]`: where notifications go (docs/notifications.md) and how often a failed one is retried."""

    model_config = ConfigDict(extra="forbid")

    channels: list[NotifyChannelConfig] = Field(default_factory=list)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    max_attempts: int = Field(5, ge=1, description="tries in all before a message is marked failed")
    backoff_seconds: float = Field(60.0, gt=0, description="wait before the first retry; doubles each time")
    backoff_max_seconds: float = Field(3600.0, gt=0)
    timeout_seconds: float = Field(10.0, gt=0, description="per webhook request")
    deliver_every_seconds: float = Field(
        30.0, gt=0, description="`yuqing schedule` delivers the outbox this often"
    )
    announce_levels: list[Literal["I", "II", "III", "IV"]] = Field(
        default_factory=lambda: ["I", "II"],
        description="a new alert at these levels is announced at once on the announce channels",
    )
    announce_channels: list[str] = Field(
        default_factory=list, description="channel names told of new alerts; empty = every configured channel"
    )
    ack_link_hours: float = Field(
        12.0,
        gt=0,
        le=72,
        description="a notification's 一键确认 link (one per person addressed, single use, never for drills) "
        "works this long",
    )

    @field_validator("channels")
    @classmethod
    def _unique_channel_names(cls, v: list[NotifyChannelConfig]) -> list[NotifyChannelConfig]:
        names = [c.name for c in v]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate notify channel names: {sorted(dupes)}")
        return v

    @model_validator(mode="after")
    def _known_announce_channels(self) -> NotifyConfig:
        unknown = sorted(set(self.announce_channels) - {c.name for c in self.channels})
        if unknown:
            raise ValueError(f"announce_channels names channels that are not configured: {unknown}")
        return self

    def announce_targets(self) -> list[tuple[str, str]]:
        """(kind, channel name) of every channel a new alert is announced on."""
        wanted = set(self.announce_channels)
        return [(c.kind, c.name) for c in self.channels if not wanted or c.name in wanted]


class CalendarConfig(BaseModel):
    """`[calendar]`: the holiday calendar comes from chinesecalendar; when the State Council has published
    next year's arrangement and the package has not caught up, an admin enters it in a TOML file."""

    model_config = ConfigDict(extra="forbid")
    official_schedule_file: Path | None = Field(
        None, description="TOML of [[holiday]] name/start/end/makeup_workdays (playbooks.holidays)"
    )


class EscalationConfig(BaseModel):
    """The escalation chain (playbooks/chain.py): who is told, tier by tier, when a clock runs out."""

    chain: list[str] = Field(
        default_factory=lambda: ["owner", "role:manager", "role:admin"],
        description='tier 0 first; "owner", "role:<officer|manager|admin>" or a username',
    )
    check_interval_minutes: float = Field(1.0, gt=0.0, description="yuqing clocks / schedule: how often")

    @field_validator("chain")
    @classmethod
    def _valid_chain(cls, v: list[str]) -> list[str]:
        from playbooks.chain import validate_chain

        return list(validate_chain(v))


class ReadinessConfig(BaseModel):
    """`[readiness]`: how recent the last drill and the channel tests must be (playbooks/readiness.py)."""

    drill_max_age_days: float = Field(
        30.0, gt=0, description="the last passed drill finished at most this many days before the holiday"
    )
    channel_test_max_age_days: float = Field(
        7.0, gt=0, description="every notify channel had a successful test within this many days"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="YUQING_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    firm: FirmConfig
    watch: list[WatchEntity] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    desk: DeskConfig = Field(default_factory=DeskConfig)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    readiness: ReadinessConfig = Field(default_factory=ReadinessConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    secrets_file: Path | None = None
    # the playbook library (*.yaml); admins edit it on the desk (预案库). Default: the packaged library
    playbooks_dir: Path | None = None

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in v]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate source names: {sorted(dupes)}")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = _toml_path_var.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    def source_label(self, name: str) -> str:
        """The display name of a configured source; unknown names (a vendor feed) are shown as they are."""
        return next((s.label for s in self.sources if s.name == name), name)

    def watch_entities(self) -> list[WatchEntity]:
        """The firm plus extra watched entities, as one list (the firm first)."""
        firm = WatchEntity(
            name=self.firm.short_names[0] if self.firm.short_names else self.firm.name,
            aliases=[self.firm.name, *self.firm.short_names[1:], *self.firm.stock_codes],
            kind="firm",
        )
        return [firm, *self.watch]


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message says what to fix."""


# pydantic-settings reads its sources from a classmethod; a context variable carries the path.
_toml_path_var: contextvars.ContextVar[Path | None] = contextvars.ContextVar("yuqing_toml", default=None)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG_NAME)


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load settings from ``path`` (or ``$YUQING_CONFIG`` / ``./yuqing.toml``) plus the environment."""
    p = config_path(path)
    if not p.exists():
        raise ConfigError(f"配置文件不存在 / config file not found: {p} (run `yuqing init` first)")
    token = _toml_path_var.set(p)
    try:
        settings = Settings(**overrides)
    except Exception as exc:  # pydantic ValidationError or TOML decode error
        raise ConfigError(f"配置文件有误 / invalid config {p}: {exc}") from exc
    finally:
        _toml_path_var.reset(token)
    # a relative store path is relative to the config file, not the current directory
    if not settings.store.path.is_absolute():
        settings.store.path = (p.parent / settings.store.path).resolve()
    # so is a relative secrets file: the crawl child process runs elsewhere and must find the same file
    if settings.secrets_file is not None and not settings.secrets_file.is_absolute():
        settings.secrets_file = (p.parent / settings.secrets_file).resolve()
    if settings.playbooks_dir is not None and not settings.playbooks_dir.is_absolute():
        settings.playbooks_dir = (p.parent / settings.playbooks_dir).resolve()
    cal = settings.calendar.official_schedule_file
    if cal is not None and not cal.is_absolute():
        settings.calendar.official_schedule_file = (p.parent / cal).resolve()
    return settings


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Build settings from a plain dict (tests, the demo); the environment still applies."""
    token = _toml_path_var.set(None)
    try:
        return Settings(**data)
    finally:
        _toml_path_var.reset(token)
