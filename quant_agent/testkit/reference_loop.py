"""An independent plain-Python loop of ../shared/reference-strategy.md, for cross-checks.

Written straight from the spec's text, sharing no code with ``backtest_preset`` (no numpy,
no vectorised signals): per-ticker running sums for the SMA, a sort for the ranking. Tests
and the bench compare its fill list with the preset's, row by row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Row = tuple[str, str, str, int, str]  # date, ticker, side, quantity, price


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def reference_fills(
    dates: Sequence[str], tickers: Sequence[str], o: list[list[int]], h: list[list[int]],
    lo: list[list[int]], c: list[list[int]],
) -> tuple[list[Row], float, int]:  # fmt: skip
    """Fills, final equity and trades; prices are ``[day][ticker]`` integer cents."""
    n = len(tickers)
    cash = 100_000.0
    held: dict[int, list[int]] = {}  # j -> [qty, entry_day, stop, target, marked]
    pending: list[tuple[int, int]] = []
    fills: list[Row] = []
    trades = 0
    sums = [0] * n
    for t, day in enumerate(dates):
        for j, pos in list(held.items()):  # open: exits
            price = o[t][j]
            if pos[4] or price <= pos[2] or price >= pos[3]:
                cash += pos[0] * (price / 100.0) - 1.0
                fills.append((day, tickers[j], "SELL", pos[0], _money(price)))
                del held[j]
        for j, qty in pending:  # open: entries
            price = o[t][j]
            if qty * (price / 100.0) + 1.0 > cash:
                continue
            cash -= qty * (price / 100.0) + 1.0
            held[j] = [qty, t, (price * 95 + 50) // 100, (price * 110 + 50) // 100, 0]
            fills.append((day, tickers[j], "BUY", qty, _money(price)))
            trades += 1
        pending = []
        for j, pos in list(held.items()):  # session
            if lo[t][j] <= pos[2]:
                exit_price = pos[2]
            elif h[t][j] >= pos[3]:
                exit_price = pos[3]
            else:
                continue
            cash += pos[0] * (exit_price / 100.0) - 1.0
            fills.append((day, tickers[j], "SELL", pos[0], _money(exit_price)))
            del held[j]
        for j in range(n):  # close
            sums[j] += c[t][j]
            if t >= 50:
                sums[j] -= c[t - 50][j]
        for pos in held.values():
            if t - pos[1] + 1 >= 20:
                pos[4] = 1
        pending = _decide(t, c, sums, held, cash)
    final = cash + sum(pos[0] * (c[-1][j] / 100.0) for j, pos in held.items())
    return fills, final, trades


def _decide(
    t: int, c: list[list[int]], sums: list[int], held: dict[int, list[int]], cash: float
) -> list[tuple[int, int]]:
    slots = 3 - len(held)
    if slots <= 0 or t < 126:
        return []
    row, back = c[t], c[t - 126]
    cands = []
    for j in range(len(row)):
        mom = (row[j] / 100.0) / (back[j] / 100.0) - 1
        if mom > 0 and row[j] / 100.0 > (sums[j] / 100.0 / 50) * (1 + 1e-9):
            cands.append((-mom, j))
    cands.sort()
    equity = cash + sum(pos[0] * (row[j] / 100.0) for j, pos in held.items())
    cash_avail, out = cash, []
    for _, j in cands:
        if j in held:
            continue
        size_value = min(0.40 * equity, cash_avail - 0.20 * equity)
        if size_value <= 0:
            break
        qty = math.floor(size_value / (row[j] / 100.0))
        if qty < 1:
            continue
        out.append((j, qty))
        cash_avail -= qty * (row[j] / 100.0) + 1.0
        slots -= 1
        if slots == 0:
            break
    return out
