"""Change detection and signal reversals, on plain values."""

from __future__ import annotations

from quant_agent.signals.changes import diff_scans, signal_reversals


def test_new_dropped_and_changed_follow_selection_and_the_threshold() -> None:
    before = {"A": (80.0, True), "B": (70.0, True), "C": (50.0, False), "E": (40.0, False)}
    after = {"A": (89.0, True), "C": (75.0, True), "D": (60.0, False), "E": (29.0, False)}
    changes = diff_scans(before, after, threshold=10.0, previous_scan_id=7)
    assert changes.new == ["C"] and changes.dropped == ["B"]
    assert [(c.ticker, c.delta) for c in changes.changed] == [("C", 25.0), ("E", -11.0)]
    assert changes.as_json()["previous_scan_id"] == 7


def test_held_tickers_below_the_exit_threshold_or_unscored_are_reversals() -> None:
    scores = {"A": 39.9, "B": 40.0, "C": 85.0}
    assert signal_reversals(scores, ["A", "B", "GONE"], 40.0) == ["A", "GONE"]
