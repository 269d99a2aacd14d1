"""The Phase 1 scorer: factors, cross-sectional scores, entry filters and trade plans.

Pure functions over arrays and plain values: no I/O, no clock. The same code scores
history (backtest) and the live market (scans), so a live score equals what the backtest
saw on the same bars.
"""
