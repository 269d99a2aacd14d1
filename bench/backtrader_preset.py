"""momentum-top3 (../shared/reference-strategy.md) written for backtrader, for the bench.

Run: ``.venv/bin/python bench/backtrader_preset.py PANEL.parquet FILLS.csv`` (backtrader
installed in the bench environment only: ``.venv/bin/pip install backtrader``; it is not a
project dependency). Prints one JSON line: trades, final_equity, bars, peak memory.

How the spec maps onto backtrader: ``cheat_on_open`` so the strategy acts in
``next_open`` before the broker fills the bar. There, per held position: max-hold mark,
gap below the stop or above the target -> market sell (fills at the open); then the
entries scheduled at the previous close -> market buys (at the open); then for every
position still held (entered now included) a stop sell at the stop if the bar's low
reaches it, else a limit sell at the target if the high does (backtrader fills a stop at
the stop price and a limit at the limit when the open did not gap through them). Orders
execute in submission order, so exits free the cash first (``checksubmit`` off). The
close decision runs in ``next``. Sizing uses the spec's float cash ledger (backtrader's
own cash equals it up to float rounding); commission is a fixed 1.0 per fill.
"""

from __future__ import annotations

import json
import math
import resource
import sys
from pathlib import Path

import backtrader as bt
import pandas as pd


class FixedCommission(bt.CommInfoBase):
    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return 1.0


class MomentumTop3(bt.Strategy):
    def __init__(self) -> None:
        self.cash = 100_000.0
        self.held: dict[int, list] = {}  # i -> [qty, entry_bar, stop, target, marked]
        self.pending: list[tuple[int, int]] = []
        self.fills: list[tuple[str, str, str, int, str]] = []
        self.trades = 0
        self.sums = [0] * len(self.datas)

    def _order(self, i: int, qty: int, buy: bool, exectype: int = bt.Order.Market,
               price: float | None = None) -> None:  # fmt: skip
        data = self.datas[i]
        if buy:
            self.buy(data=data, size=qty, exectype=exectype, price=price)
        else:
            self.sell(data=data, size=qty, exectype=exectype, price=price)

    def next_open(self) -> None:
        t = len(self)  # in next_open the strategy's length is still the previous bar's
        for i, pos in list(self.held.items()):
            o = round(self.datas[i].open[0] * 100)
            if pos[4] or o <= pos[2] or o >= pos[3]:
                self._order(i, pos[0], False)
                self.cash += pos[0] * (o / 100.0) - 1.0
                del self.held[i]
        for i, qty in self.pending:
            o = round(self.datas[i].open[0] * 100)
            if qty * (o / 100.0) + 1.0 > self.cash:
                continue
            self._order(i, qty, True)
            self.cash -= qty * (o / 100.0) + 1.0
            self.held[i] = [qty, t, (o * 95 + 50) // 100, (o * 110 + 50) // 100, 0]
            self.trades += 1
        self.pending = []
        for i, pos in list(self.held.items()):
            d = self.datas[i]
            if round(d.low[0] * 100) <= pos[2]:
                self._order(i, pos[0], False, bt.Order.Stop, pos[2] / 100.0)
                self.cash += pos[0] * (pos[2] / 100.0) - 1.0
            elif round(d.high[0] * 100) >= pos[3]:
                self._order(i, pos[0], False, bt.Order.Limit, pos[3] / 100.0)
                self.cash += pos[0] * (pos[3] / 100.0) - 1.0
            else:
                continue
            del self.held[i]

    def next(self) -> None:
        t = len(self) - 1
        closes = [round(d.close[0] * 100) for d in self.datas]
        for i, d in enumerate(self.datas):
            self.sums[i] += closes[i]
            if t >= 50:
                self.sums[i] -= round(d.close[-50] * 100)
        for pos in self.held.values():
            if t - pos[1] + 1 >= 20:
                pos[4] = 1
        slots = 3 - len(self.held)
        if slots <= 0 or t < 126:
            return
        cands = []
        for i, d in enumerate(self.datas):
            mom = d.close[0] / d.close[-126] - 1
            sma = self.sums[i] / 100.0 / 50
            if mom > 0 and d.close[0] > sma * (1 + 1e-9):
                cands.append((-mom, i))
        cands.sort()
        equity = self.cash + sum(p[0] * (closes[i] / 100.0) for i, p in self.held.items())
        cash_avail = self.cash
        for _, i in cands:
            if i in self.held:
                continue
            size_value = min(0.40 * equity, cash_avail - 0.20 * equity)
            if size_value <= 0:
                break
            qty = math.floor(size_value / (closes[i] / 100.0))
            if qty < 1:
                continue
            self.pending.append((i, qty))
            cash_avail -= qty * (closes[i] / 100.0) + 1.0
            slots -= 1
            if slots == 0:
                break

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            day = bt.num2date(order.executed.dt).date().isoformat()
            cents = round(order.executed.price * 100)
            self.fills.append((day, order.data._name, "BUY" if order.isbuy() else "SELL",
                               abs(int(order.executed.size)),
                               f"{cents // 100}.{cents % 100:02d}"))  # fmt: skip


def run(path: Path) -> tuple[MomentumTop3, int, float]:
    bars = pd.read_parquet(path)
    bars["date"] = pd.to_datetime(bars["date"])
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    for ticker, frame in bars.groupby("ticker", sort=True):
        feed = frame.set_index("date")[["open", "high", "low", "close", "volume"]]
        cerebro.adddata(bt.feeds.PandasData(dataname=feed), name=str(ticker))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.addcommissioninfo(FixedCommission())
    cerebro.addstrategy(MomentumTop3)
    strategy = cerebro.run(runonce=False, preload=True)[0]
    last = {d._name: d.close[0] for d in strategy.datas}
    names = [d._name for d in strategy.datas]
    final = strategy.cash + sum(p[0] * last[names[i]] for i, p in strategy.held.items())
    return strategy, len(bars), final


def main() -> None:
    strategy, bars, final = run(Path(sys.argv[1]))
    fills = ["date,ticker,side,quantity,price"] + [",".join(map(str, f)) for f in strategy.fills]
    Path(sys.argv[2]).write_text("\n".join(fills) + "\n")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"trades": strategy.trades, "final_equity": round(final, 2), "bars": bars,
                      "broker_value": round(strategy.broker.getvalue(), 2),
                      "peak_rss_mb": round(peak, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
