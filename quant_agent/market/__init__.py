"""Market data and exchange calendars: what trades, when, and at what prices."""
