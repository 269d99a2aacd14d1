"""The documented factor names (no dependencies, so the config can validate against them).

Every factor is a pure function of a ticker's own bars up to and including day t (a
session on which the ticker has no bar is skipped, not filled); NaN where the history is
too short. See docs/SIGNALS.md for the definitions.
"""

from __future__ import annotations

FACTOR_NAMES: tuple[str, ...] = (
    "momentum_21",  # close[t] / close[t-21] - 1
    "momentum_63",
    "momentum_126",
    "momentum_252",  # close[t-21] / close[t-252] - 1: twelve months skipping the last one
    "sma_50",
    "sma_200",
    "close_to_sma_50",  # close / sma_50 - 1
    "close_to_sma_200",
    "sma_50_slope",  # sma_50[t] / sma_50[t-20] - 1
    "volatility_20",  # sample std (ddof 1) of the last 20 daily close-to-close returns
    "atr_14",  # Wilder's average true range
    "atr_pct_14",  # atr_14 / close
    "relative_volume_20",  # volume[t] / mean(volume[t-20..t-1])
    "dollar_volume_20",  # mean(close * volume) over the last 20 bars
    "rsi_14",  # Wilder's RSI, 0-100
    "rel_strength_63",  # momentum_63 - the benchmark's momentum_63 on the same day
    "dist_52w_high",  # close / max(high over the last 252 bars) - 1 (<= 0)
)
