"""LiveSignalGenerator on SQLite and PostgreSQL: scans persist, failures leave no signals,
change detection across scans."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from quant_agent.config import LiveTradingConfig
from quant_agent.core.clock import SimClock
from quant_agent.core.enums import RunStatus, ScanKind
from quant_agent.core.records import ScanRun
from quant_agent.market.history import HistoryStore
from quant_agent.market.synthetic import generate_market
from quant_agent.signals.changes import diff_scans
from quant_agent.signals.scan import ScanOutput, Signal
from quant_agent.signals.trade_plan import TradePlan
from quant_agent.storage.store import Store
from quant_agent.testkit.signals import cash_account, generator

# Tuesday 2024-06-04 08:00 New York: the last completed session is Monday 2024-06-03.
PREMARKET = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
RELAXED = LiveTradingConfig.model_validate(
    {"filters": {"regime_filter": False, "earnings_filter": False, "min_score_threshold": 50}}
)


@pytest.fixture(scope="module")
def history() -> HistoryStore:
    market = generate_market(n_tickers=30, start=date(2022, 1, 3), end=date(2024, 6, 28), seed=11)
    return HistoryStore(market.bars, market.universe)


def test_premarket_scan_persists_its_run_and_one_row_per_scored_ticker(
    store: Store, history: HistoryStore
) -> None:
    clock = SimClock(PREMARKET)
    report = generator(store, history, clock, RELAXED).run_premarket_scan()

    assert report.status is RunStatus.SUCCEEDED and report.asof == date(2024, 6, 3)
    assert report.output is not None
    with store.unit_of_work() as uow:
        run = uow.scan_runs.get(report.run_id)
        rows = uow.signals.for_scan(report.run_id)
    assert run.kind is ScanKind.PREMARKET and run.status is RunStatus.SUCCEEDED
    assert run.started_at == PREMARKET and run.finished_at == PREMARKET
    assert run.universe_size == 31 and run.signal_count == len(rows) == 31
    by_ticker = {r.ticker: r for r in rows}
    selected = [s for s in report.output.signals if s.selected]
    assert 1 <= len(selected) <= 3
    for signal in report.output.signals:
        row = by_ticker[signal.ticker]
        assert row.signal_date == date(2024, 6, 3) and row.rank == signal.rank
        assert row.composite_score == pytest.approx(signal.composite_score)
        assert row.selected == signal.selected and row.filter_reasons == list(signal.reasons)
        assert set(row.factors["values"]) >= {"momentum_126", "sma_50", "sma_200", "rsi_14",
                                              "atr_14", "volatility_20"}  # fmt: skip
    for signal in selected:
        row = by_ticker[signal.ticker]
        assert signal.trade_plan is not None and row.trade_plan is not None
        assert row.entry_price == signal.trade_plan.entry_price
        assert row.quantity == signal.trade_plan.quantity == row.trade_plan["quantity"]
        assert row.stop_loss < row.entry_price < row.take_profit


def test_a_failed_scan_records_status_and_error_and_no_signals(
    store: Store, history: HistoryStore
) -> None:
    gen = generator(store, history, SimClock(PREMARKET), RELAXED, universe=["SPY", "NOPE"])
    report = gen.run_premarket_scan()

    assert report.status is RunStatus.FAILED and "NOPE" in (report.error or "")
    with store.unit_of_work() as uow:
        run = uow.scan_runs.get(report.run_id)
        assert run.status is RunStatus.FAILED and "NOPE" in run.error
        assert run.finished_at == PREMARKET
        assert uow.signals.for_scan(report.run_id) == []


def test_a_scan_whose_write_fails_midway_is_failed_with_no_signals(
    store: Store, history: HistoryStore
) -> None:
    # the same ticker twice: the second live_signals row breaks (scan_run_id, ticker)
    gen = generator(store, history, SimClock(PREMARKET), RELAXED, universe=["SPY", "SPY"])
    report = gen.run_premarket_scan()

    assert report.status is RunStatus.FAILED and "IntegrityError" in (report.error or "")
    with store.unit_of_work() as uow:
        run = uow.scan_runs.get(report.run_id)
        assert run.status is RunStatus.FAILED and run.error == report.error
        assert uow.signals.for_scan(report.run_id) == []


def signal(ticker: str, rank: int, score: float, selected: bool) -> Signal:
    plan = None
    if selected:
        plan = TradePlan(
            ticker=ticker,
            entry_type="last",
            entry_price=Decimal("10.00"),
            stop_loss=Decimal("9.50"),
            take_profit=Decimal("11.00"),
            quantity=5,
        )
    return Signal(
        ticker=ticker,
        signal_date=date(2024, 6, 3),
        composite_score=score,
        rank=rank,
        factors={"momentum_126": 0.1},
        factor_ranks={},
        trade_plan=plan,
    )


def output(*signals: Signal) -> ScanOutput:
    return ScanOutput(asof=date(2024, 6, 3), signals=list(signals), unscored={})


def start_run(store: Store, clock: SimClock) -> int:
    with store.unit_of_work() as uow:
        return uow.scan_runs.add(
            ScanRun(kind=ScanKind.MARKET, status=RunStatus.RUNNING, started_at=clock.now())
        )


def test_a_write_failing_midway_leaves_no_partial_signals(
    store: Store, history: HistoryStore
) -> None:
    clock = SimClock(PREMARKET)
    gen = generator(store, history, clock)
    run_id = start_run(store, clock)
    duplicate = output(signal("AAA", 1, 90, True), signal("AAA", 2, 80, False))

    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        gen.save_signals_to_db(run_id, duplicate)

    with store.unit_of_work() as uow:
        assert uow.signals.for_scan(run_id) == []
        assert uow.scan_runs.get(run_id).status is RunStatus.RUNNING


def test_change_detection_reports_new_dropped_and_changed_across_two_scans(
    store: Store, history: HistoryStore
) -> None:
    clock = SimClock(PREMARKET)
    gen = generator(store, history, clock)  # change_threshold 10 by default
    first = start_run(store, clock)
    gen.save_signals_to_db(first, output(
        signal("AAA", 1, 80, True), signal("BBB", 2, 70, True), signal("CCC", 3, 50, False),
    ))  # fmt: skip
    first_changes = gen.compare_with_previous_scan()
    assert first_changes.previous_scan_id is None and first_changes.new == ["AAA", "BBB"]

    second = start_run(store, clock)
    gen.save_signals_to_db(second, output(
        signal("AAA", 1, 85, True), signal("CCC", 2, 75, True), signal("DDD", 3, 60, False),
    ))  # fmt: skip
    changes = gen.compare_with_previous_scan()

    assert changes.previous_scan_id == first
    assert changes.new == ["CCC"] and changes.dropped == ["BBB"]
    assert [(c.ticker, c.previous, c.current) for c in changes.changed] == [("CCC", 50, 75)]


def test_two_real_scans_compare_like_their_outputs(store: Store, history: HistoryStore) -> None:
    clock = SimClock(PREMARKET)
    gen = generator(store, history, clock, RELAXED)
    one = gen.run_premarket_scan(asof=date(2024, 5, 1))
    two = gen.run_premarket_scan(asof=date(2024, 6, 3))
    assert one.output is not None and two.output is not None

    def view(out: ScanOutput) -> dict[str, tuple[float, bool]]:
        return {s.ticker: (s.composite_score, s.selected) for s in out.signals}

    expected = diff_scans(view(one.output), view(two.output), 10.0, one.run_id)
    got = gen.compare_with_previous_scan()
    assert got.new == expected.new and got.dropped == expected.dropped
    assert [c.ticker for c in got.changed] == [c.ticker for c in expected.changed]
    assert got.changed, "two scans a month apart move some scores by more than 10 points"


def test_live_filters_rerun_against_the_current_holdings(
    store: Store, history: HistoryStore
) -> None:
    held: list[str] = []
    gen = generator(store, history, SimClock(PREMARKET), RELAXED,
                    holdings=lambda: cash_account(open_positions=held))  # fmt: skip
    report = gen.run_premarket_scan()
    assert report.output is not None
    first = [s.ticker for s in report.output.signals if s.selected]

    held.append(first[0])  # the best signal was bought meanwhile
    again = {s.ticker: s for s in gen.apply_live_filters(report.output.signals)}

    assert again[first[0]].reasons == ("already held (open position)",)
    assert not again[first[0]].selected
    assert sum(s.selected for s in again.values()) <= 2


def test_a_premarket_scan_asked_for_a_weekend_scores_the_friday_before(
    store: Store, history: HistoryStore
) -> None:
    report = generator(store, history, SimClock(PREMARKET), RELAXED).run_premarket_scan(
        asof=date(2024, 6, 2)
    )
    assert report.asof == date(2024, 5, 31) and report.output is not None
    with store.unit_of_work() as uow:
        assert uow.scan_runs.get(report.run_id).asof == date(2024, 5, 31)
        assert {r.signal_date for r in uow.signals.for_scan(report.run_id)} == {date(2024, 5, 31)}
