"""A deterministic synthetic US stock market: the default data source for demo and paper runs.

Owns ``generate_market``: NYSE sessions between two dates, a benchmark ETF (SPY) driven by a
market factor with calm/stressed volatility regimes, and stocks with pronounceable
synthetic tickers spread over the 11 GICS sectors. Each stock's daily log return is

    drift regime + beta × market + loading × sector factor + idiosyncratic noise + jumps

where the drift switches at random (persistent trends a momentum scorer can find), sector
factors carry slowly varying trends, noise is fat-tailed and jumps are earnings-like gaps.
Bars have opening gaps, intraday ranges, cent prices and lognormal volume that spikes on
large moves. Same arguments → identical frames; all randomness flows from one
``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from quant_agent.core.enums import Exchange
from quant_agent.market.coverage import exchange_sessions
from quant_agent.market.history import HistoryStore

SECTORS = (
    "Information Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Communication Services",
    "Industrials",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Materials",
    "Real Estate",
)
BENCHMARK_SECTOR = "Broad US equity"
MIN_CLOSE = 5.0  # every price path is lifted so its lowest close is at least this
MAX_CLOSE = 2000.0  # ... and lowered (never below MIN_CLOSE) so its highest is at most this

_CONSONANTS = "BCDFGHJKLMNPRSTVZ"
_VOWELS = "AEIOU"
_NAME_SPACE = (len(_CONSONANTS) * len(_VOWELS)) ** 2  # 7,225 CVCV names
_NAME_STEP = 1009  # coprime with the name space, so i → name is a bijection


@dataclass(frozen=True, eq=False)
class SyntheticMarket:
    """Generated bars (tidy, sorted by ticker then date) and their universe."""

    bars: pd.DataFrame
    universe: pd.DataFrame
    seed: int
    benchmark: str

    @property
    def sessions(self) -> pd.DatetimeIndex:
        """The session dates covered, sorted."""
        return pd.DatetimeIndex(self.bars["date"].unique()).sort_values()

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(self.universe["ticker"].tolist())

    def store(self) -> HistoryStore:
        """A ``HistoryStore`` over these bars and universe."""
        return HistoryStore(self.bars, self.universe)


@dataclass(frozen=True)
class _Params:
    """Per-column model parameters (stocks and the benchmark share one layout)."""

    beta: np.ndarray
    loading: np.ndarray
    idio: np.ndarray
    sector: np.ndarray
    is_stock: np.ndarray
    start_price: np.ndarray
    base_volume: np.ndarray


def synthetic_tickers(n: int) -> list[str]:
    """``n`` distinct four-letter consonant-vowel tickers, the same for every seed."""
    if not 0 <= n <= _NAME_SPACE:
        raise ValueError(f"can name between 0 and {_NAME_SPACE} tickers, not {n}")
    names = []
    nc, nv = len(_CONSONANTS), len(_VOWELS)
    for i in range(n):
        j = (i * _NAME_STEP + 17) % _NAME_SPACE
        c1, j = _CONSONANTS[j % nc], j // nc
        v1, j = _VOWELS[j % nv], j // nv
        c2, j = _CONSONANTS[j % nc], j // nc
        names.append(c1 + v1 + c2 + _VOWELS[j % nv])
    return names


def generate_market(
    n_tickers: int = 50,
    start: date = date(2019, 1, 2),
    end: date = date(2024, 12, 31),
    seed: int = 42,
    benchmark: str = "SPY",
) -> SyntheticMarket:
    """Generate ``n_tickers`` stocks plus the ``benchmark`` ETF over NYSE sessions in range.

    Raises ``ValueError`` for a negative or too large ``n_tickers`` or a range without
    sessions.
    """
    if n_tickers < 0:
        raise ValueError(f"n_tickers must be >= 0, got {n_tickers}")
    pool = synthetic_tickers(min(n_tickers + 1, _NAME_SPACE))
    names = [name for name in pool if name != benchmark][:n_tickers]
    if len(names) < n_tickers:
        raise ValueError(f"can name at most {len(names)} tickers beside {benchmark!r}")
    sessions = exchange_sessions(Exchange.NYSE, start, end)
    if len(sessions) == 0:
        raise ValueError(f"no NYSE session between {start} and {end}")
    rng = np.random.default_rng(seed)
    params = _draw_params(rng, n_tickers)
    returns, market = _daily_returns(rng, params, len(sessions))
    prices = _ohlc(rng, params, returns)
    volume = _volume(rng, params, returns, market)
    tickers = [benchmark, *names]
    sectors = [BENCHMARK_SECTOR, *(SECTORS[s] for s in params.sector[1:])]
    order = np.argsort(np.array(tickers, dtype=object), kind="stable")
    bars = _tidy(sessions, [tickers[k] for k in order], {**prices, "volume": volume}, order)
    universe = pd.DataFrame(
        {
            "ticker": pd.Series([tickers[k] for k in order], dtype="str"),
            "sector": pd.Series([sectors[k] for k in order], dtype="str"),
            "exchange": pd.Series([Exchange.NYSE.value] * len(order), dtype="str"),
        }
    )
    return SyntheticMarket(bars=bars, universe=universe, seed=seed, benchmark=benchmark)


def _draw_params(rng: np.random.Generator, n: int) -> _Params:
    """Column 0 is the benchmark (beta 1, no sector, tiny tracking noise); 1..n are stocks."""
    is_stock = np.r_[False, np.ones(n, dtype=bool)]
    sector = np.r_[0, rng.permutation(n) % len(SECTORS)]
    beta = np.r_[1.0, np.clip(rng.normal(1.0, 0.3, n), 0.3, 2.0)]
    loading = np.r_[0.0, rng.uniform(0.6, 1.2, n)]
    idio = np.r_[0.0004, np.clip(np.exp(rng.normal(np.log(0.015), 0.35, n)), 0.006, 0.04)]
    start_price = np.r_[250.0, np.exp(rng.uniform(np.log(15.0), np.log(300.0), n))]
    base_volume = np.r_[7e7, np.exp(rng.uniform(np.log(3e5), np.log(3e7), n))]
    return _Params(beta, loading, idio, sector, is_stock, start_price, base_volume)


def _market_and_sectors(rng: np.random.Generator, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Market returns with two-state volatility regimes; sector returns with AR(1) drifts."""
    calm = rng.random(t) < 0.985  # chance to stay calm / leave stress is asymmetric below
    leave_stress = rng.random(t) < 0.06
    z_market = rng.standard_normal(t)
    z_sector = rng.standard_normal((t, len(SECTORS)))
    drift_shocks = rng.normal(0.0, 6e-5, (t, len(SECTORS)))
    stressed = False
    vol = np.empty(t)
    drift = np.zeros((t, len(SECTORS)))
    level = np.zeros(len(SECTORS))
    for k in range(t):
        stressed = (not leave_stress[k]) if stressed else (not calm[k])
        vol[k] = 0.019 if stressed else 0.0075
        level = 0.995 * level + drift_shocks[k]
        drift[k] = level
    market = 0.0004 + vol * z_market
    sectors = drift + 0.006 * z_sector
    return market, sectors


def _daily_returns(rng: np.random.Generator, p: _Params, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily log returns (t × columns) and the market factor (t)."""
    n = len(p.beta)
    market, sectors = _market_and_sectors(rng, t)
    switches = rng.random((t, n)) < 1.0 / 120.0
    regime = np.cumsum(switches, axis=0, dtype=np.int64)
    drifts = rng.normal(0.0, 0.0008, (t + 1, n))
    drift = np.take_along_axis(drifts, regime, axis=0) * p.is_stock
    noise = rng.standard_t(5, (t, n)) * np.sqrt(3.0 / 5.0)
    jumps = (rng.random((t, n)) < 4.0 / 252.0) * rng.normal(0.0, 0.05, (t, n)) * p.is_stock
    returns = (
        drift + p.beta * market[:, None] + p.loading * sectors[:, p.sector] + p.idio * noise + jumps
    )
    return returns, market


def _ohlc(rng: np.random.Generator, p: _Params, returns: np.ndarray) -> dict[str, np.ndarray]:
    """Cent-rounded open/high/low/close with low ≤ min(open, close) ≤ max(...) ≤ high."""
    log_close = np.log(p.start_price) + np.cumsum(returns, axis=0)
    log_close += np.maximum(0.0, np.log(MIN_CLOSE) - log_close.min(axis=0))
    headroom = log_close.min(axis=0) - np.log(MIN_CLOSE)
    log_close -= np.clip(log_close.max(axis=0) - np.log(MAX_CLOSE), 0.0, headroom)
    prev_close = log_close - returns
    scale = np.sqrt(p.idio**2 + (p.beta * 0.01) ** 2)
    t, n = returns.shape
    gap = 0.35 * returns + rng.normal(0.0, 1.0, (t, n)) * 0.25 * scale
    log_open = prev_close + gap
    up = np.abs(rng.normal(0.0, 1.0, (t, n))) * 0.6 * scale
    down = np.abs(rng.normal(0.0, 1.0, (t, n))) * 0.6 * scale
    close = np.round(np.exp(log_close), 2)
    open_ = np.round(np.exp(log_open), 2)
    high = np.round(np.exp(np.maximum(log_open, log_close) + up), 2)
    low = np.round(np.exp(np.minimum(log_open, log_close) - down), 2)
    high = np.maximum(high, np.maximum(open_, close))
    low = np.maximum(np.minimum(low, np.minimum(open_, close)), 0.01)
    return {"open": open_, "high": high, "low": low, "close": close}


def _volume(
    rng: np.random.Generator, p: _Params, returns: np.ndarray, market: np.ndarray
) -> np.ndarray:
    """Lognormal volume around each column's base, spiking on large idiosyncratic moves."""
    surprise = np.abs(returns - p.beta * market[:, None]) / np.maximum(p.idio, 0.004)
    spike = 1.0 + 0.8 * np.maximum(surprise - 1.5, 0.0)
    noise = np.exp(rng.normal(0.0, 0.3, returns.shape))
    volume = np.maximum(np.round(p.base_volume * noise * spike), 100)
    return np.asarray(volume, dtype=np.int64)


def _tidy(
    sessions: pd.DatetimeIndex,
    tickers: list[str],
    fields: dict[str, np.ndarray],
    order: np.ndarray,
) -> pd.DataFrame:
    """Stack (t × columns) arrays into the tidy bar schema, column ``order`` = ticker order."""
    t = len(sessions)
    frame = pd.DataFrame(
        {
            "date": np.tile(sessions.to_numpy(dtype="datetime64[ns]"), len(tickers)),
            "ticker": pd.Series(np.repeat(np.array(tickers, dtype=object), t), dtype="str"),
        }
    )
    for name, grid in fields.items():
        frame[name] = grid[:, order].T.reshape(-1)
    return frame
