"""Who may see the dashboard: loopback binds are open, any other bind needs a password.

``check_bind`` runs before Streamlit starts (the CLI refuses to start without a password on
a non-loopback address); ``login_gate`` runs at the top of every script run, before any
page renders. Passwords are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

LOOPBACK = "127.0.0.1"
PASSWORD_ENV = "QA_DASHBOARD_PASSWORD"
HOST_ENV = "QA_DASHBOARD_HOST"


def check_bind(host: str, env: Mapping[str, str]) -> str | None:
    """Return why the dashboard must not start on ``host``, or None if it may."""
    if host == LOOPBACK or env.get(PASSWORD_ENV):
        return None
    return (
        f"refusing to bind the dashboard to {host}: any address other than {LOOPBACK} "
        f"needs a password; set {PASSWORD_ENV} (or bind {LOOPBACK} and use an SSH tunnel)"
    )


def password_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def login_gate(st: Any, env: Mapping[str, str]) -> bool:
    """Render the login form until the password is given; True once the user may see pages."""
    expected = env.get(PASSWORD_ENV, "")
    refused = check_bind(env.get(HOST_ENV, LOOPBACK), env)
    if refused:
        st.error(refused)
        return False
    if not expected or st.session_state.get("authenticated"):
        return True
    st.title("quant-agent")
    with st.form("login"):
        given = st.text_input("Password", type="password", key="password")
        submitted = st.form_submit_button("Log in")
    if submitted and password_matches(given or "", expected):
        st.session_state["authenticated"] = True
        st.rerun()
    if submitted:
        st.error("wrong password")
    return False
