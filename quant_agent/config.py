"""Configuration: typed, strict models of ``config/live_trading.yaml`` plus the environment.

Sources, lowest priority first: the models' defaults (the embedded defaults ``make run``
uses), the YAML file, a ``.env`` file, the process environment. Environment variables use
the ``QA_`` prefix and ``__`` between levels (``QA_TRADING__MAX_POSITIONS=5``); only
variables whose first level names a section are read, so ``QA_TEST_DATABASE_URL`` and the
like are left alone. ``QA_DATABASE_URL`` is accepted as a short form of
``QA_DATABASE__URL`` and ``QA_ALERT_URLS`` of ``QA_ALERTS__URLS``.

Secrets (``SecretStr`` fields) come only from the environment or ``.env``: a secret in the
YAML file is an error. They never appear in a repr, a log line or ``config check`` output.
Every model forbids unknown keys, so a typo is an error naming the field, not a silent
default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)
from sqlalchemy.engine import make_url

from quant_agent.core.errors import ConfigError

ENV_PREFIX = "QA_"
DEFAULT_CONFIG_PATH = Path("config/live_trading.yaml")
DEFAULT_DATABASE_URL = "sqlite:///var/quant_agent.db"
_URL_FIELDS = frozenset({"database.url"})
_ENV_ALIASES = {"QA_DATABASE_URL": ("database", "url"), "QA_ALERT_URLS": ("alerts", "urls")}

Percent = Annotated[float, Field(gt=0, le=100)]


class Section(BaseModel):
    """Base of every config model: immutable, unknown keys rejected."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


class TradingConfig(Section):
    mode: Literal["paper", "live"] = "paper"
    initial_capital: Decimal = Field(default=Decimal("100000"), gt=0, max_digits=16)
    max_positions: int = Field(default=3, ge=1, le=100)
    max_position_pct: Percent = 40.0
    commission_per_trade: Decimal = Field(default=Decimal("1.0"), ge=0, max_digits=10)
    slippage_pct: float = Field(default=0.05, ge=0, le=5)
    max_hold_days: int = Field(default=10, ge=1, le=1000)  # sessions a position may be held


class RiskConfig(Section):
    max_daily_loss_pct: Percent = 2.0
    max_sector_exposure_pct: Percent = 60.0
    max_correlation: float = Field(default=0.7, ge=0, le=1)
    min_buying_power_pct: float = Field(default=20.0, ge=0, lt=100)
    halt_on_loss_limit: bool = True
    # the buying-power reserve gate: conservative (a pending market entry at its target
    # price, the new entry's commission counted) or plan (pending entries at the plan's
    # entry price plus commission, the new one without: the trade plan's own sizing rule)
    reserve_basis: Literal["conservative", "plan"] = "conservative"


def _parse_hhmm(value: object) -> object:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{2}:\d{2}", value.strip()):
            raise ValueError("expected a time as HH:MM (24-hour), e.g. '09:00'")
        hours, minutes = (int(part) for part in value.strip().split(":"))
        if hours > 23 or minutes > 59:
            raise ValueError("expected a time as HH:MM with HH 00-23 and MM 00-59")
        return time(hours, minutes)
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as a base-60 integer (540): undo that.
        return time(*divmod(value, 60)) if 0 <= value < 24 * 60 else value
    return value


class ScheduleConfig(Section):
    premarket_scan: time = time(9, 0)
    market_hours_scan: time | None = time(10, 0)  # "off": premarket scans only
    timezone: str = "America/New_York"

    _times = field_validator("premarket_scan", "market_hours_scan", mode="before")(
        lambda value: None if value in ("off", None, False) else _parse_hhmm(value)
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'America/New_York' "
                "or 'America/Toronto'"
            ) from None
        return value

    @field_serializer("premarket_scan", "market_hours_scan")
    def _hhmm(self, value: time | None) -> str:
        return "off" if value is None else value.strftime("%H:%M")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class FiltersConfig(Section):
    regime_filter: bool = True
    correlation_filter: bool = True
    earnings_filter: bool = True
    min_score_threshold: float = Field(default=60.0, ge=0, le=100)
    liquidity_filter: bool = True


DEFAULT_FACTOR_WEIGHTS: dict[str, float] = {
    "momentum_126": 0.30,
    "momentum_252": 0.15,
    "momentum_63": 0.15,
    "rel_strength_63": 0.15,
    "close_to_sma_50": 0.10,
    "dist_52w_high": 0.10,
    "volatility_20": -0.05,
}


def _known_factors(values: dict[str, float]) -> dict[str, float]:
    from quant_agent.signals.names import FACTOR_NAMES

    unknown = sorted(set(values) - set(FACTOR_NAMES))
    if unknown:
        raise ValueError(
            f"unknown factor(s) {', '.join(unknown)}; known: {', '.join(FACTOR_NAMES)}"
        )
    return values


class SignalsConfig(Section):
    """The scorer and its filters' parameters (docs/SIGNALS.md)."""

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_FACTOR_WEIGHTS))
    benchmark: str = "SPY"
    factor_minimums: dict[str, float] = Field(default_factory=dict)
    exit_score_threshold: float = Field(default=40.0, ge=0, le=100)
    change_threshold: float = Field(default=10.0, gt=0, le=100)
    min_price: float = Field(default=5.0, ge=0)
    min_dollar_volume: float = Field(default=5_000_000.0, ge=0)
    earnings_window_days: int = Field(default=5, ge=0, le=60)
    correlation_lookback: int = Field(default=60, ge=10, le=504)

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if not any(weight != 0 for weight in value.values()):
            raise ValueError("at least one factor weight must be non-zero")
        return _known_factors(value)

    _minimums = field_validator("factor_minimums")(lambda value: _known_factors(value))


class TradePlanConfig(Section):
    """Entry, stop, target and sizing of new long positions."""

    entry: Literal["last", "limit"] = "last"
    limit_offset_pct: float = Field(default=0.0, ge=-5, le=5)
    stop: Literal["atr", "percent"] = "atr"
    atr_stop_multiple: float = Field(default=2.0, gt=0, le=20)
    stop_pct: float = Field(default=5.0, gt=0, lt=100)
    target: Literal["r_multiple", "percent"] = "r_multiple"
    r_multiple: float = Field(default=2.0, gt=0, le=20)
    target_pct: float = Field(default=10.0, gt=0, le=1000)
    sizing: Literal["risk", "fixed_fraction"] = "risk"
    risk_per_trade_pct: float = Field(default=1.0, gt=0, le=100)
    fixed_fraction_pct: Percent = 40.0
    cap_includes_commission: bool = True
    # signal: the bracket keeps the plan's stop/target; fill: re-priced from the entry's fill
    # (percent stop and target only; the reference strategy's rule)
    anchor: Literal["signal", "fill"] = "signal"


AlertLevel = Literal["INFO", "WARNING", "CRITICAL"]
ChannelKind = Literal["email", "sms", "webhook"]
ALL_CHANNELS: tuple[ChannelKind, ...] = ("email", "sms", "webhook")


class AlertRule(Section):
    """How one kind of event is alerted: its level and the channel kinds it may go to."""

    level: AlertLevel = "INFO"
    channels: tuple[ChannelKind, ...] = ALL_CHANNELS
    enabled: bool = True


def _rule(level: AlertLevel, *channels: ChannelKind) -> AlertRule:
    return AlertRule(level=level, channels=channels or ALL_CHANNELS)


DEFAULT_ALERT_RULES: dict[str, AlertRule] = {
    "new_signal": _rule("INFO", "webhook"),
    "position_opened": _rule("INFO"),
    "position_closed": _rule("INFO"),
    "stop_loss_hit": _rule("WARNING"),
    "take_profit_hit": _rule("INFO"),
    "daily_loss_approaching": _rule("WARNING"),
    "daily_loss_limit": _rule("CRITICAL"),
    "position_size_exceeded": _rule("WARNING"),
    "correlation_breach": _rule("WARNING"),
    "buying_power_low": _rule("WARNING"),
    "risk_breach": _rule("WARNING"),
    "trading_state_changed": _rule("WARNING"),
    "connection_lost": _rule("CRITICAL"),
    "api_error": _rule("WARNING"),
    "data_feed_issue": _rule("WARNING"),
    "handler_failed": _rule("CRITICAL"),
    "startup": _rule("INFO"),
    "shutdown": _rule("INFO"),
    "daily_report": _rule("INFO", "email", "webhook"),
    "order_ticket": _rule("WARNING"),  # assisted mode: an order for the trader to place
    "manual": _rule("INFO"),
}


DEFAULT_CHANNEL_MIN_LEVEL: dict[ChannelKind, AlertLevel] = {
    "email": "INFO",
    "sms": "CRITICAL",
    "webhook": "INFO",
}


class AlertsConfig(Section):
    email_enabled: bool = False
    email_to: str | None = None
    alert_on_entry: bool = True
    alert_on_exit: bool = True
    alert_on_risk_breach: bool = True
    # Delivery (docs/OPERATIONS.md, "Alerts and reports").
    email_from: str = "quant-agent@localhost"
    smtp_host: str | None = None  # with email_enabled and email_to: mailtos://smtp_host
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    sms_from: str | None = None  # Twilio sender number (+15551234567)
    sms_to: str | None = None
    subject_prefix: str = "[quant-agent]"
    min_level: AlertLevel = "INFO"
    channel_min_level: dict[ChannelKind, AlertLevel] = Field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_MIN_LEVEL)
    )
    rules: dict[str, AlertRule] = Field(default_factory=lambda: dict(DEFAULT_ALERT_RULES))
    rate_limit_count: int = Field(default=10, ge=1, le=10_000)  # per channel per window
    rate_limit_seconds: float = Field(default=60.0, gt=0, le=86_400)
    dedup_window_seconds: float = Field(default=300.0, ge=0, le=86_400)
    daily_loss_warn_fraction: float = Field(default=0.8, gt=0, lt=1)
    send_attempts: int = Field(default=3, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=2.0, ge=0, le=600)
    queue_size: int = Field(default=10_000, ge=10)
    send_daily_report: bool = True

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, AlertRule]) -> dict[str, AlertRule]:
        unknown = sorted(set(value) - set(DEFAULT_ALERT_RULES))
        if unknown:
            raise ValueError(
                f"unknown alert rule(s) {', '.join(unknown)}; "
                f"known: {', '.join(DEFAULT_ALERT_RULES)}"
            )
        return {**DEFAULT_ALERT_RULES, **value}

    # Secrets: environment or .env only.
    discord_webhook: SecretStr | None = None
    slack_webhook: SecretStr | None = None
    smtp_password: SecretStr | None = None
    twilio_account_sid: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    urls: SecretStr | None = None  # Apprise URLs, space or comma separated (QA_ALERT_URLS)


class PerformanceConfig(Section):
    """Performance tracking and the daily report."""

    risk_free_rate: float = Field(default=0.0, ge=-0.05, le=0.5)  # annual, 0.04 = 4 %
    benchmark: str = "SPY"
    report_dir: Path = Path("var/reports")
    report_format: Literal["html", "md"] = "html"


class DataConfig(Section):
    source: Literal["demo", "files", "questrade"] = "demo"
    daily_path: Path | None = None
    universe_path: Path | None = None
    earnings_path: Path | None = None
    demo_tickers: int = Field(default=60, ge=2, le=5000)
    demo_seed: int = 42
    demo_start: date = date(2019, 1, 2)
    demo_end: date = date(2024, 12, 31)
    questrade_history_days: int = Field(default=500, ge=30, le=5000)  # candles fetched


class BrokerConfig(Section):
    kind: Literal["paper", "questrade", "questrade-assisted"] = "paper"


class OrdersConfig(Section):
    """Order manager: how hard to retry a broker that does not answer cleanly."""

    submit_attempts: int = Field(default=4, ge=1, le=20)
    backoff_initial_seconds: float = Field(default=0.5, ge=0, le=60)
    backoff_max_seconds: float = Field(default=8.0, ge=0, le=600)


class PaperConfig(Section):
    """Paper venue: fill behaviour of the simulated broker."""

    partial_fills: bool = False  # fill at most the quoted size per quote
    # quote: fill at the quote; touch: a stop/limit crossed between two quotes of a session
    # fills at its own price (daily-bar backtests: a stop touched by the low at the stop)
    fill_model: Literal["quote", "touch"] = "quote"


class RunnerConfig(Section):
    """The runner: the replay window ``quant-agent run`` trades, and its loop's guards."""

    replay_start: date = date(2024, 2, 8)  # demo market: SPY risk-on from here ...
    replay_end: date = date(2024, 4, 30)  # ... to here (default seed 42)
    max_quote_age_seconds: float = Field(default=60.0, gt=0, le=3600)
    snapshot_minutes: int = Field(default=60, ge=1, le=1440)  # intraday equity snapshots
    # After-close daily report (performance.report_dir): every session, the run's last, off.
    close_report: Literal["every", "last", "off"] = "last"
    # Database outage: the step is retried after a probe write succeeds, waiting first this
    # long, then twice as long each time, at most the max (docs/OPERATIONS.md).
    db_retry_seconds: float = Field(default=1.0, gt=0, le=60)
    db_retry_max_seconds: float = Field(default=30.0, gt=0, le=600)


class PreflightConfig(Section):
    """Thresholds of ``quant-agent preflight`` (the go-live checklist, docs/OPERATIONS.md)."""

    risk_tests: tuple[str, ...] = ("tests/integration/executor/test_risk_limits.py",)
    max_data_age_sessions: int = Field(default=3, ge=0, le=250)  # NYSE sessions behind today
    quote_symbol: str = "SPY"  # data.source questrade: a quote of it must arrive
    alert_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    backup_dir: Path = Path("var/backups")
    max_backup_age_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    min_paper_days: int = Field(default=20, ge=0, le=2520)  # sessions with a daily snapshot
    min_paper_signals: int = Field(default=10, ge=0)  # selected signals in live_signals
    max_initial_capital: Decimal = Field(default=Decimal("25000"), gt=0, max_digits=16)
    valid_hours: float = Field(default=24.0, gt=0, le=24 * 7)  # live start needs a pass this recent


class DatabaseConfig(Section):
    url: str = DEFAULT_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except Exception:  # noqa: BLE001 - SQLAlchemy raises several types here
            raise ValueError("not a database URL; e.g. 'sqlite:///var/quant_agent.db'") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}; allowed: sqlite, postgresql"
            )
        return value

    @field_serializer("url")
    def _masked(self, value: str) -> str:
        return mask_url(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield "url", mask_url(self.url)


class QuestradeConfig(Section):
    login_url: str = "https://login.questrade.com"
    refresh_token: SecretStr | None = None  # secret: environment or .env only
    token_path: Path = Path("var/questrade_token.json")
    order_entry: Literal["none", "partner"] = "none"
    allow_delayed_quotes: bool = False
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    refresh_margin_s: int = Field(default=60, ge=0, le=900)
    keepalive_minutes: float = Field(default=20.0, gt=0, lt=25)  # REST call at least this often
    outage_alert_s: float = Field(default=120.0, gt=0, le=3600)  # quote stream down this long
    stall_timeout_s: float = Field(default=60.0, gt=0, le=600)  # silent socket: reconnect


class LiveTradingConfig(Section):
    """The whole configuration; each component receives only its own section."""

    trading: TradingConfig = TradingConfig()
    risk: RiskConfig = RiskConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    filters: FiltersConfig = FiltersConfig()
    alerts: AlertsConfig = AlertsConfig()
    performance: PerformanceConfig = PerformanceConfig()
    data: DataConfig = DataConfig()
    broker: BrokerConfig = BrokerConfig()
    orders: OrdersConfig = OrdersConfig()
    paper: PaperConfig = PaperConfig()
    database: DatabaseConfig = DatabaseConfig()
    questrade: QuestradeConfig = QuestradeConfig()
    signals: SignalsConfig = SignalsConfig()
    trade_plan: TradePlanConfig = TradePlanConfig()
    runner: RunnerConfig = RunnerConfig()
    preflight: PreflightConfig = PreflightConfig()

    def display(self) -> dict[str, Any]:
        """Return the effective configuration as plain data with every secret masked."""
        return self.model_dump(mode="json")


def mask_url(value: str) -> str:
    """Hide the password of a URL (``postgresql://u:***@host/db``)."""
    try:
        return make_url(value).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "***"


def secret_fields(model: type[BaseModel] = LiveTradingConfig, prefix: str = "") -> set[str]:
    """Return the dotted paths of every ``SecretStr`` field."""
    found: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            found |= secret_fields(annotation, path + ".")
        elif "SecretStr" in str(annotation):
            found.add(path)
    return found


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = ".env",
) -> LiveTradingConfig:
    """Load and validate the configuration; raise ``ConfigError`` naming each bad field.

    ``path`` None means ``config/live_trading.yaml`` if it exists, else embedded defaults.
    An explicit path that does not exist is an error.
    """
    file_data, source = _read_yaml(path)
    problems = [
        f"{field}: is a secret and must not be in the config file; set "
        f"{ENV_PREFIX}{field.upper().replace('.', '__')} in the environment or .env"
        for field in sorted(secret_fields())
        if _lookup(file_data, field.split(".")) is not None
    ]
    if problems:
        raise ConfigError(problems, source)
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    env_data, env_names = _env_tree(env)
    merged = _deep_merge(file_data, env_data)
    try:
        return LiveTradingConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, env_names), source) from None


def _read_yaml(path: str | Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        if not DEFAULT_CONFIG_PATH.is_file():
            return {}, "embedded defaults"
        path = DEFAULT_CONFIG_PATH
    file = Path(path)
    if not file.is_file():
        raise ConfigError([f"config file {file} does not exist"], str(file))
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise ConfigError([problem], str(file)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], str(file)) from None
    except (ValueError, OverflowError) as exc:  # a YAML date such as 2024-13-45
        raise ConfigError([f"not valid YAML: a value cannot be read ({exc})"], str(file)) from None
    except RecursionError:
        raise ConfigError(["not valid YAML: nested too deeply"], str(file)) from None
    if data is None:
        return {}, str(file)
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping of sections"], str(file))
    return data, str(file)


def _env_tree(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the nested overrides and, for each dotted field set, the variable's name."""
    sections = set(LiveTradingConfig.model_fields)
    tree: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, value in env.items():
        upper = key.upper()
        if upper in _ENV_ALIASES:
            parts = list(_ENV_ALIASES[upper])
            if _lookup(tree, parts) is not None:
                continue  # the long form wins over the alias
        elif upper.startswith(ENV_PREFIX):
            parts = [p.lower() for p in upper[len(ENV_PREFIX) :].split("__")]
            if parts[0] not in sections or len(parts) < 2 or not all(parts):
                continue
        else:
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
            names[".".join(parts)] = key
    return tree, names


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _lookup(data: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = LiveTradingConfig
    for part in loc[:-1]:
        annotation = model.model_fields.get(str(part))
        if annotation is None or not isinstance(annotation.annotation, type):
            return []
        model = annotation.annotation
    return sorted(model.model_fields)


def _describe(exc: ValidationError, env_names: Mapping[str, str]) -> list[str]:
    lines = []
    secrets = secret_fields()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        field = ".".join(str(p) for p in loc)
        origin = f" [from environment variable {env_names[field]}]" if field in env_names else ""
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc)) or "none"
            lines.append(f"{field}: unknown key; allowed keys here: {allowed}{origin}")
            continue
        shown = "***" if field in secrets else repr(error.get("input"))
        if field in _URL_FIELDS:  # a database URL may carry a password
            shown = repr(mask_url(str(error.get("input"))))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{field}: {message} (got {shown}){origin}")
    return lines
