"""A private, throwaway PostgreSQL cluster a test may stop and start at will.

Never the shared server on 5432: ``initdb`` into a fresh folder under the system temp
directory, ``pg_ctl start`` on a free port of 127.0.0.1 (trust auth, fsync off), and the
folder removed afterwards. The binaries are the newest ``/usr/lib/postgresql/*/bin`` (CI
installs them in ``.ci/run``); nothing is installed here. Run as root, the folder belongs
to the ``postgres`` OS user and every command runs as it (``runuser``), since PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from quant_agent.testkit.notify_servers import free_port


def pg_bin() -> Path | None:
    """The newest PostgreSQL bin folder with initdb and pg_ctl, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
             if (Path(p).parent / "initdb").exists()]  # fmt: skip
    return max(found, key=lambda p: int(p.parent.name), default=None)


class PrivateCluster:
    """One throwaway cluster: ``start``, ``stop`` (fast: connections are cut), ``remove``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="qa-private-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
