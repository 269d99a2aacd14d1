"""Configuration: shipped defaults, strict validation, environment overrides, secrets."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import LiveTradingConfig, load_config, secret_fields
from quant_agent.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "live_trading.yaml"

SEED = {
    "trading": {"mode": "paper", "initial_capital": Decimal(100000), "max_positions": 3,
                "max_position_pct": 40, "commission_per_trade": Decimal("1.0"),
                "slippage_pct": 0.05},
    "risk": {"max_daily_loss_pct": 2, "max_sector_exposure_pct": 60, "max_correlation": 0.7,
             "min_buying_power_pct": 20, "halt_on_loss_limit": True},
    "schedule": {"premarket_scan": time(9, 0), "market_hours_scan": time(10, 0),
                 "timezone": "America/New_York"},
    "filters": {"regime_filter": True, "correlation_filter": True, "earnings_filter": True,
                "min_score_threshold": 60},
    "alerts": {"alert_on_entry": True, "alert_on_exit": True, "alert_on_risk_breach": True},
}  # fmt: skip


def test_shipped_file_loads_and_equals_the_seed_values() -> None:
    config = load_config(SHIPPED, environ={}, dotenv_path=None)
    for section, values in SEED.items():
        for key, expected in values.items():
            assert getattr(getattr(config, section), key) == expected, f"{section}.{key}"
    assert config.database.url == "sqlite:///var/quant_agent.db"
    assert config.data.source == "demo" and config.broker.kind == "paper"


def test_shipped_file_equals_the_embedded_defaults() -> None:
    assert load_config(SHIPPED, environ={}, dotenv_path=None) == LiveTradingConfig()


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "live_trading.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("data", "field", "hint"),
    [
        ({"trading": {"max_positions": "three"}}, "trading.max_positions", "valid integer"),
        ({"trading": {"max_position_pct": 140}}, "trading.max_position_pct",
         "less than or equal to 100"),
        ({"risk": {"max_daily_loss_pct": -1}}, "risk.max_daily_loss_pct", "greater than 0"),
        ({"risk": {"max_corelation": 0.5}}, "risk.max_corelation",
         "unknown key; allowed keys here: "),
        ({"tradng": {"mode": "paper"}}, "tradng", "unknown key; allowed keys here: alerts, broker"),
        ({"schedule": {"timezone": "America/NewYork"}}, "schedule.timezone", "unknown timezone"),
        ({"schedule": {"premarket_scan": "9:00am"}}, "schedule.premarket_scan", "HH:MM"),
        ({"schedule": {"market_hours_scan": "25:00"}}, "schedule.market_hours_scan", "HH 00-23"),
        ({"trading": {"mode": "papr"}}, "trading.mode", "'paper' or 'live'"),
        ({"data": {"source": "yahoo"}}, "data.source", "'demo', 'files' or 'questrade'"),
        ({"database": {"url": "mysql://x@y/z"}}, "database.url", "allowed: sqlite, postgresql"),
        ({"risk": {"max_correlation": 1.5}}, "risk.max_correlation", "less than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_config_names_the_field_and_what_is_allowed(
    tmp_path: Path, data: dict, field: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data), environ={}, dotenv_path=None)
    message = str(info.value)
    assert f"{field}:" in message and hint in message
    assert str(tmp_path / "live_trading.yaml") in message


def test_unquoted_yaml_time_is_read_as_a_time_not_minutes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("schedule:\n  premarket_scan: 08:45\n")
    assert load_config(path, environ={}, dotenv_path=None).schedule.premarket_scan == time(8, 45)


def test_missing_explicit_file_and_bad_yaml_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", environ={}, dotenv_path=None)
    bad = tmp_path / "bad.yaml"
    bad.write_text("trading: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, environ={}, dotenv_path=None)


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"trading": {"max_positions": 4}, "database": {"url": "sqlite:///a.db"}})
    env = {
        "QA_TRADING__MAX_POSITIONS": "7",
        "QA_DATABASE_URL": "postgresql+psycopg://qa@127.0.0.1:5432/qa",
        "QA_TEST_DATABASE_URL": "ignored",
        "QA_UNRELATED": "ignored",
    }
    config = load_config(path, environ=env, dotenv_path=None)
    assert config.trading.max_positions == 7
    assert config.database.url == "postgresql+psycopg://qa@127.0.0.1:5432/qa"


def test_dotenv_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("QA_RISK__MAX_CORRELATION=0.5\nQA_TRADING__MAX_POSITIONS=2\n")
    config = load_config(None, environ={"QA_TRADING__MAX_POSITIONS": "5"}, dotenv_path=dotenv)
    assert config.risk.max_correlation == 0.5 and config.trading.max_positions == 5


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="QA_TRADING__MODE") as info:
        load_config(None, environ={"QA_TRADING__MODE": "livee"}, dotenv_path=None)
    assert "trading.mode" in str(info.value)


def test_secret_in_the_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, {"questrade": {"refresh_token": "abc123"}})
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, dotenv_path=None)
    assert "QA_QUESTRADE__REFRESH_TOKEN" in str(info.value)
    assert "abc123" not in str(info.value)


SECRET_ENV = {
    "QA_QUESTRADE__REFRESH_TOKEN": "rt-SECRET-1111",
    "QA_ALERTS__SMTP_PASSWORD": "smtp-SECRET-2222",
    "QA_ALERTS__DISCORD_WEBHOOK": "https://discord.test/api/webhooks/SECRET-3333",
    "QA_ALERTS__TWILIO_AUTH_TOKEN": "tw-SECRET-4444",
    "QA_ALERT_URLS": "json://127.0.0.1/SECRET-5555",
    "QA_DATABASE_URL": "postgresql+psycopg://qa:pw-SECRET-6666@127.0.0.1/qa",
}


def test_secrets_never_appear_in_repr_or_display() -> None:
    config = load_config(None, environ=SECRET_ENV, dotenv_path=None)
    assert config.questrade.refresh_token.get_secret_value() == "rt-SECRET-1111"
    assert config.alerts.urls.get_secret_value() == "json://127.0.0.1/SECRET-5555"
    text = repr(config) + str(config) + str(config.display())
    assert "SECRET" not in text
    assert {"questrade.refresh_token", "alerts.smtp_password"} <= secret_fields()


def test_config_check_prints_masked_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRET_ENV.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["config", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.output
    assert "refresh_token: '**********'" in result.output
    assert "max_positions: 3" in result.output


def test_config_check_reports_errors_and_fails(tmp_path: Path) -> None:
    path = write(tmp_path, {"trading": {"mode": "papr"}})
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert "trading.mode" in result.output and "'paper' or 'live'" in result.output
