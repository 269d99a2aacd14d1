"""Fuzzing the configuration: YAML files mutated field by field, mangled as text, and bad
environment overrides. Each either loads as a valid configuration (every number finite) or
raises ``ConfigError`` whose problems name the field; no other exception type ever escapes.
"""

from __future__ import annotations

import math
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from quant_agent.config import LiveTradingConfig, load_config
from quant_agent.core.errors import ConfigError

from .budget import fuzz_settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED_TEXT = (REPO / "config" / "live_trading.yaml").read_text(encoding="utf-8")
SHIPPED: dict[str, Any] = yaml.safe_load(SHIPPED_TEXT)
FIELDS = sorted(f"{section}.{key}" for section, keys in SHIPPED.items() for key in keys)
SECTIONS = sorted(SHIPPED)
WORK = Path(tempfile.mkdtemp(prefix="qa-fuzz-config-"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),  # NaN and infinities included
    st.text(max_size=30), st.dates(min_value=date(1, 1, 1)),
    st.sampled_from(["09:00", "25:61", "America/Nowhere", "sqlite:///x.db", "mysql://u:p@h/d",
                     "paper", "live", "-1", "1e999", "~", "yes", "0o17", "0x1F"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=6,
)  # fmt: skip


def _load_text(text: str | bytes, environ: dict[str, str] | None = None) -> LiveTradingConfig:
    path = WORK / "live_trading.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ or {}, dotenv_path=None)


def _names(error: ConfigError, field: str) -> bool:
    """True when a problem line is about ``field`` (or a key inside it)."""
    return any(p.startswith((f"{field}: ", f"{field}.")) for p in error.problems)


def _finite_everywhere(model: BaseModel) -> None:
    def walk(value: Any, where: str) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), f"{where}.{name}")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, float):
            assert math.isfinite(value), f"{where} = {value} was accepted"

    walk(model, "config")


@fuzz_settings()
@given(field=st.sampled_from(FIELDS), value=values, action=st.sampled_from(["set", "drop"]))
def test_a_mutated_field_loads_or_is_named_in_the_error(field: str, value: Any,
                                                        action: str) -> None:  # fmt: skip
    section, key = field.split(".")
    data = {section: dict(SHIPPED[section])}  # the other sections keep their defaults
    if action == "drop":
        del data[section][key]
    else:
        data[section][key] = value
    try:
        config = _load_text(yaml.safe_dump(data, allow_unicode=True))
    except ConfigError as exc:
        assert exc.problems
        assert _names(exc, field), (field, exc.problems)
        return
    _finite_everywhere(config)
    if action == "drop":
        assert getattr(getattr(config, section), key) == getattr(
            getattr(LiveTradingConfig(), section), key
        ), "a dropped key keeps its default"


@fuzz_settings()
@given(section=st.sampled_from(SECTIONS), key=st.text(min_size=1, max_size=12), value=values)
def test_an_unknown_or_misplaced_key_is_an_error_naming_it(section: str, key: str,
                                                           value: Any) -> None:  # fmt: skip
    data = {section: dict(SHIPPED[section])}
    if key in data[section]:
        return
    data[section][key] = value
    text = yaml.safe_dump(data, allow_unicode=True)
    unknown = set(yaml.safe_load(text)[section]) - set(SHIPPED[section])  # as YAML reads it
    if not unknown:
        return  # YAML reads the key as a known one ("mode\x85" is "mode")
    (read,) = unknown
    try:
        _load_text(text)
    except ConfigError as exc:
        assert _names(exc, f"{section}.{read}"), exc.problems
    else:
        raise AssertionError(f"unknown key {section}.{read!r} was accepted")


edits = st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, len(SHIPPED_TEXT)),
              st.binary(min_size=1, max_size=6)),
    min_size=1, max_size=6,
)  # fmt: skip


@fuzz_settings()
@given(edits=edits)
def test_mangled_file_text_loads_or_raises_config_error(edits: list[tuple[str, int, bytes]],
                                                        ) -> None:  # fmt: skip
    raw = bytearray(SHIPPED_TEXT.encode())
    for action, at, chunk in edits:
        at = min(at, len(raw))
        if action == "insert":
            raw[at:at] = chunk
        elif action == "delete":
            del raw[at : at + len(chunk)]
        else:
            raw[at : at + len(chunk)] = chunk
    try:
        config = _load_text(bytes(raw))
    except ConfigError as exc:
        assert exc.problems and all(p.strip() for p in exc.problems)
        return
    _finite_everywhere(config)


@fuzz_settings()
@given(field=st.sampled_from(FIELDS), text=st.text(max_size=40))
def test_an_environment_override_loads_or_names_its_variable(field: str, text: str) -> None:
    section, key = field.split(".")
    variable = f"QA_{section.upper()}__{key.upper()}"
    try:
        config = _load_text("", {variable: text})
    except ConfigError as exc:
        named = [p for p in exc.problems if p.startswith(field)]
        assert named and all(variable in p for p in named), exc.problems
        return
    _finite_everywhere(config)
