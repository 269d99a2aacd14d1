"""Benchmark of the momentum-top3 backtest against backtrader, whole process each.

Run: ``.venv/bin/python bench/bench_backtest.py [--quick]`` (``make bench`` runs it).
Markets: the real panel ``../shared/data/panel_2520.parquet`` (477 tickers x 2,520
sessions, 1.2 M bars; skipped if absent) and a synthetic 500-ticker x 10-year market
(``market.synthetic``, seed 7). For each: ``quant-agent backtest --preset momentum-top3
--json --fills-out`` as a child process (wall time of the whole process, bars/s, peak RSS
of the child, trades, final equity), the independent plain-Python loop
(``testkit.reference_loop``) in this process, and backtrader running
``bench/backtrader_preset.py`` as a child. Prints the throughput ratio and whether the
three fill lists are identical. backtrader is installed into the venv if missing (bench
environment only, never a project dependency); if that fails it says so and goes on.
``--quick`` skips backtrader on the synthetic market (it takes over a minute per market).

The core engine (``--preset momentum-top3 --engine core``: the live core on
``preset_config``) is timed on a slice of the panel (``--core-slice TICKERS:SESSIONS``,
default 40:378, i.e. 40 tickers over the first 1.5 years; ``--core-slice 477:2520`` is the
whole panel, hours): whole-process wall and CPU, ms per simulated step, bars/s, and whether
its fill list equals the fast engine's on the same slice. ``--core-only`` runs just that.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from quant_agent.backtest_preset import Market  # noqa: E402
from quant_agent.testkit.reference_loop import reference_fills  # noqa: E402

PANEL = Path(os.environ.get("QA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "quant-agent")
CPU: dict[bool, float] = {}  # the last child's CPU seconds: True = a python script child


def child(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; return its wall seconds, its peak RSS (MB) and its stdout (CPU printed)."""
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    CPU[cmd[0] == PYTHON] = cpu
    print(f"   [{Path(cmd[1]).name if cmd[0] == PYTHON else 'quant-agent'}: wall {wall:.2f} s,"
          f" CPU {cpu:.2f} s]")  # fmt: skip
    return wall, usage.ru_maxrss / 1024, out


def have_backtrader() -> bool:
    probe = subprocess.run([PYTHON, "-c", "import backtrader"], capture_output=True)
    if probe.returncode == 0:
        return True
    print("   backtrader missing: pip install backtrader (bench environment only)")
    got = subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "backtrader"],
                         capture_output=True, text=True)  # fmt: skip
    if got.returncode != 0:
        print(f"   backtrader could not be installed: {got.stderr.strip()[-300:]}")
        return False
    return True


def read_rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]


def bench_market(name: str, data: Path, folder: Path, run_bt: bool) -> None:
    print(f"== {name}: {data}")
    fills = folder / f"{name}-qa.csv"
    wall, rss, out = child([CLI, "backtest", "--preset", "momentum-top3", "--data", str(data),
                            "--json", "--fills-out", str(fills), "--out-dir",
                            str(folder / "runs")])  # fmt: skip
    summary = json.loads(out)
    bars = summary["bars"]
    print(f"   quant-agent: whole process {wall:.2f} s ({summary['wall_seconds']:.2f} s inside),"
          f" {bars / wall:,.0f} bars/s, peak RSS {rss:.0f} MB, trades {summary['trades']},"
          f" final equity {summary['final_equity']:,.2f}, bars {bars:,}")  # fmt: skip
    began = time.perf_counter()
    m = Market.from_parquet(data)
    rows, final, trades = reference_fills(m.dates, m.tickers, m.open.tolist(), m.high.tolist(),
                                          m.low.tolist(), m.close.tolist())  # fmt: skip
    loop_rows = [f"{d},{t},{s},{q},{p}" for d, t, s, q, p in rows]
    same = loop_rows == read_rows(fills)
    print(f"   plain loop:  {time.perf_counter() - began:.2f} s, trades {trades}, final equity "
          f"{final:,.2f}; fill list identical: {same}")  # fmt: skip
    if not run_bt:
        print("   backtrader: skipped")
        return
    bt_fills = folder / f"{name}-bt.csv"
    script = str(REPO_ROOT / "bench" / "backtrader_preset.py")
    bt_wall, bt_rss, bt_out = child([PYTHON, script, str(data), str(bt_fills)])
    got = json.loads(bt_out)
    identical = read_rows(bt_fills) == read_rows(fills)
    print(f"   backtrader:  whole process {bt_wall:.2f} s, {got['bars'] / bt_wall:,.0f} bars/s, "
          f"peak RSS {bt_rss:.0f} MB, trades {got['trades']}, final equity "
          f"{got['final_equity']:,.2f}; fill list identical: {identical}")  # fmt: skip
    print(f"   ratio: quant-agent is {bt_wall / wall:.1f}x backtrader's whole-process throughput"
          f" (target >= 20x); by CPU time {CPU[True] / CPU[False]:.1f}x")  # fmt: skip


def bench_core(data: Path, folder: Path, spec: str) -> None:
    """The preset through the live core on a slice; equality with the fast engine."""
    import pandas as pd

    count, sessions = (int(v) for v in spec.split(":"))
    bars = pd.read_parquet(data)
    tickers = sorted(bars["ticker"].unique())
    keep = tickers[:: max(1, len(tickers) // count)][:count]
    dates = sorted(bars["date"].unique())[:sessions]
    bars = bars[bars["ticker"].isin(keep) & bars["date"].isin(dates)]
    sliced = folder / "slice.parquet"
    bars.to_parquet(sliced)
    print(f"== core engine: {len(keep)} tickers x {len(dates)} sessions ({len(bars):,} bars)")
    runs = {}
    for engine in ("fast", "core"):
        fills = folder / f"slice-{engine}.csv"
        wall, rss, out = child([CLI, "backtest", "--preset", "momentum-top3", "--engine",
                                engine, "--data", str(sliced), "--json", "--fills-out",
                                str(fills), "--out-dir", str(folder / "runs")])  # fmt: skip
        summary = json.loads(out)
        runs[engine] = (wall, CPU[False], read_rows(fills), summary)
    wall, cpu, rows, summary = runs["core"]
    steps = summary["summary"]["steps"]
    print(f"   core: whole process {wall:.2f} s, CPU {cpu:.2f} s, {steps} steps, "
          f"{1000 * cpu / steps:.1f} ms CPU per step, {len(bars) / wall:,.0f} bars/s, "
          f"trades {summary['trades']}, final equity {summary['final_equity']:,.2f}")  # fmt: skip
    fwall, fcpu, frows, fsummary = runs["fast"]
    print(f"   fast: whole process {fwall:.2f} s, CPU {fcpu:.2f} s, trades {fsummary['trades']},"
          f" final equity {fsummary['final_equity']:,.2f}; fill lists identical:"
          f" {rows == frows} ({len(rows)} fills)")  # fmt: skip
    print(f"   core per bar: {1e6 * cpu / len(bars):.0f} us CPU (backtrader ~58 us/bar whole "
          f"process: 70 s / 1.2 M bars); the fast engine stays the bench engine")  # fmt: skip


def main() -> None:
    quick = "--quick" in sys.argv
    core_spec = "40:378"
    if "--core-slice" in sys.argv:
        core_spec = sys.argv[sys.argv.index("--core-slice") + 1]
    panel_file = PANEL / "panel_2520.parquet"
    if "--core-only" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            bench_core(panel_file, Path(tmp), core_spec)
        return
    bt_ok = have_backtrader()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        panel = PANEL / "panel_2520.parquet"
        if panel.exists():
            bench_market("panel", panel, folder, bt_ok)
        else:
            print(f"== panel: {panel} absent (set QA_SHARED_DATA); skipped")
        from quant_agent.market.synthetic import generate_market

        synthetic = folder / "synthetic.parquet"
        generate_market(500, date(2015, 7, 1), date(2025, 6, 30), seed=7).bars.to_parquet(synthetic)
        bench_market("synthetic-500x10y", synthetic, folder, bt_ok and not quick)
        if panel.exists():
            bench_core(panel, folder, core_spec)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"   (this bench process, incl. the plain loops: peak RSS {peak:.0f} MB)")


if __name__ == "__main__":
    main()
