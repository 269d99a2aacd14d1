"""The Streamlit dashboard: a reader of the store that steers the runner only through the
``commands`` table.

It lives inside the package so ``pip install`` ships it with ``quant-agent dashboard``
(``APP_PATH`` is the script Streamlit runs). ``queries`` reads, ``controls`` writes command
rows (nothing else), ``auth`` guards the bind address and the password, ``memo`` shares
the heavy reads of one data version, ``views`` renders the pages (not a ``pages/`` folder:
Streamlit would serve each module there as a page of its own, around the login).
"""

from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")

__all__ = ["APP_PATH"]
