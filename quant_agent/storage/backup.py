"""Database backup and restore: SQLite through its online backup API, PostgreSQL through
``pg_dump`` / ``pg_restore`` (custom format).

Owns the backup files' names (``<database>-YYYYmmddTHHMMSSZ.sqlite|.dump``, the time
being the caller's clock, so finding the newest backup never reads a file's mtime) and the
choice of the PostgreSQL client binaries: the Debian ``/usr/lib/postgresql/<major>/bin``
of the server's major version when present, else the ones on PATH, refused with the fix
when they are older than the server. It never stops a runner: restore into a database a
runner is using only while that runner is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from quant_agent.storage.engine import make_engine, normalize_url

_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^(?P<db>.+)-(?P<ts>\d{8}T\d{6}Z)\.(?P<ext>sqlite|dump)$")


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class BackupFile:
    path: Path
    taken_at: datetime
    dialect: str  # "sqlite" or "postgresql"


def extension(url: str | URL) -> str:
    return "sqlite" if normalize_url(url).get_backend_name() == "sqlite" else "dump"


def default_backup_path(url: str | URL, folder: Path, now: datetime) -> Path:
    """``folder/<database name>-<UTC time>.<sqlite|dump>``."""
    parsed = normalize_url(url)
    name = Path(parsed.database or "database").stem or "database"
    return folder / f"{name}-{now.astimezone(UTC).strftime(_STAMP)}.{extension(parsed)}"


def parse_backup_name(path: Path) -> BackupFile | None:
    """The time and kind a backup file's name records, or None if it is not one."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    taken = datetime.strptime(match["ts"], _STAMP).replace(tzinfo=UTC)
    dialect = "sqlite" if match["ext"] == "sqlite" else "postgresql"
    return BackupFile(path=path, taken_at=taken, dialect=dialect)


def latest_backup(folder: Path, dialect: str | None = None) -> BackupFile | None:
    """The newest backup in ``folder`` (of ``dialect`` when given), by its recorded time."""
    if not folder.is_dir():
        return None
    found = [b for p in folder.iterdir() if (b := parse_backup_name(p)) is not None]
    found = [b for b in found if dialect is None or b.dialect == dialect]
    return max(found, key=lambda b: b.taken_at, default=None)


def backup(url: str | URL, out: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``out``; return ``out``."""
    parsed = normalize_url(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_file(parsed), out)
    else:
        tools = pg_tools(parsed)
        _run([str(tools.pg_dump), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={out}", f"--dbname={_libpq_uri(parsed)}"], parsed)  # fmt: skip
    return out


def restore(url: str | URL, source: Path) -> None:
    """Replace the contents of the database at ``url`` with the backup ``source``."""
    parsed = normalize_url(url)
    if not source.is_file():
        raise BackupError(f"backup file {source} does not exist")
    if parsed.get_backend_name() == "sqlite":
        if not _is_sqlite_file(source):
            raise BackupError(f"{source} is not a SQLite backup (for PostgreSQL use a .dump)")
        target = _sqlite_file(parsed)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target)
        return
    if _is_sqlite_file(source):
        raise BackupError(f"{source} is a SQLite backup; the target database is PostgreSQL")
    tools = pg_tools(parsed)
    # --clean drops each object of the dump before recreating it, all in one transaction:
    # a failed restore leaves the database as it was.
    _run([str(tools.pg_restore), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", f"--dbname={_libpq_uri(parsed)}",
          str(source)], parsed)  # fmt: skip


def is_empty(url: str | URL) -> bool:
    """True when the database has no quant-agent tables (a restore overwrites nothing)."""
    from sqlalchemy import inspect

    engine = make_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up or restore SQLite database {database!r}: use a file")
    return Path(database).expanduser()


def _is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy page by page with sqlite3's online backup API (consistent under writers)."""
    if not source.is_file():
        raise BackupError(f"SQLite database {source} does not exist")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} to {target} failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PgTools:
    pg_dump: Path
    pg_restore: Path
    server_major: int
    client_major: int


def server_major(url: URL) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    finally:
        engine.dispose()
    return number // 10000


def pg_tools(url: URL, search: tuple[Path, ...] = (Path("/usr/lib/postgresql"),)) -> PgTools:
    """The pg_dump/pg_restore able to handle the server at ``url`` (see the module doc)."""
    major = server_major(url)
    for root in search:
        folder = root / str(major) / "bin"
        if (folder / "pg_dump").is_file() and (folder / "pg_restore").is_file():
            return PgTools(folder / "pg_dump", folder / "pg_restore", major, major)
    dump, restore_ = shutil.which("pg_dump"), shutil.which("pg_restore")
    if dump is None or restore_ is None:
        raise BackupError(
            f"pg_dump/pg_restore not found; install the PostgreSQL {major} client "
            f"(Debian: apt-get install postgresql-client-{major})"
        )
    client = client_major(Path(dump))
    if client < major:
        raise BackupError(
            f"pg_dump {client} cannot dump a PostgreSQL {major} server (a client at least as "
            f"new as the server is needed): install postgresql-client-{major}"
        )
    return PgTools(Path(dump), Path(restore_), major, client)


def client_major(binary: Path) -> int:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if match is None:
        raise BackupError(f"cannot read the version of {binary}: {out.stdout!r}")
    return int(match.group(1))


def _libpq_uri(url: URL) -> str:
    """The URL for libpq, without the password (passed in PGPASSWORD, not on argv)."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(argv: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tool = Path(argv[0]).name
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}")
