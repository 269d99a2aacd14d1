"""The pure domain: no I/O, no vendor imports, no wall clock (see core/clock.py)."""
