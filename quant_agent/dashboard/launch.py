"""Start Streamlit on the dashboard script: the argument list and the environment it gets.

Binding anything but 127.0.0.1 is refused without ``QA_DASHBOARD_PASSWORD`` (``auth``);
the host is passed on as ``QA_DASHBOARD_HOST`` so the script checks it again before any
page renders. Usage statistics are off and the browser is never opened.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from quant_agent.dashboard import APP_PATH
from quant_agent.dashboard.auth import HOST_ENV

CONFIG_ENV = "QA_DASHBOARD_CONFIG"


def streamlit_argv(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def streamlit_env(host: str, config_path: Path | None, env: Mapping[str, str]) -> dict[str, str]:
    out = {**env, HOST_ENV: host}
    if config_path is not None:
        out[CONFIG_ENV] = str(config_path.resolve())
    return out
