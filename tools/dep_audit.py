"""Dependency vulnerability check (``make lint``): pip-audit's PyPI check, offline-capable.

Why not ``pip-audit`` itself: it asks ``https://pypi.org/pypi/<name>/<version>/json`` per
installed package; from the project's machines that endpoint answers 404 for every package
(only the project document ``/pypi/<name>/json`` is served), so pip-audit skips all of them
and still prints "No known vulnerabilities found". This script asks the same PyPI JSON API
for the same advisories (PyPI's ``vulnerabilities``, from the OSV database):

1. ``/pypi/<name>/<version>/json`` for each installed distribution; where that is not
   served, ``/pypi/<name>/json``, whose advisories apply when its latest version is the one
   installed. A package older than the latest, without version data, is listed as
   "not audited" (a warning, not a failure).
2. Answers are cached (``.venv/.dep-audit.json``) for ``--max-age-hours`` (24); when PyPI
   cannot be reached, cached answers of any age are used and their age is printed.
3. A vulnerability fails the check (exit 1) unless its id or an alias is listed, with a
   reason, in ``tools/audit_ignore.toml``.
4. PyPI unreachable and nothing cached: the check says SKIPPED and exits 0, so ``make
   lint`` never fails on the network; ``--strict`` (or ``QA_AUDIT_STRICT=1``) exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DEFAULT_INDEX = "https://pypi.org/pypi"
DEFAULT_IGNORE = HERE / "audit_ignore.toml"
DEFAULT_CACHE = HERE.parent / ".venv" / ".dep-audit.json"
SELF = {"quant-agent"}


class Unreachable(Exception):
    """The index did not answer (network error, timeout, 5xx)."""


@dataclass
class Answer:
    """What PyPI said about one ``name==version``."""

    vulns: list[dict[str, Any]] = field(default_factory=list)
    audited: bool = True
    note: str = ""
    fetched_at: float = 0.0


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> list[tuple[str, str]]:
    found = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    return sorted((n, v) for n, v in found.items() if n not in SELF)


def _get(client: httpx.Client, url: str) -> dict[str, Any] | None:
    try:
        reply = client.get(url)
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}") from None
    if reply.status_code == 404:
        return None
    if reply.status_code != 200:
        raise Unreachable(f"HTTP {reply.status_code}")
    try:
        doc = reply.json()
    except ValueError:
        raise Unreachable("not JSON") from None
    return doc if isinstance(doc, dict) else None


def ask(client: httpx.Client, index: str, name: str, version: str) -> Answer:
    doc = _get(client, f"{index}/{name}/{version}/json")
    if doc is None:
        latest = _get(client, f"{index}/{name}/json")
        if latest is None:
            return Answer(audited=False, note="not on the index", fetched_at=time.time())
        newest = str(latest.get("info", {}).get("version", ""))
        if newest != version:
            note = f"no data for this version on the index (latest is {newest})"
            return Answer(audited=False, note=note, fetched_at=time.time())
        doc = latest
    vulns = [v for v in doc.get("vulnerabilities") or [] if not v.get("withdrawn")]
    return Answer(vulns=vulns, fetched_at=time.time())


def load_ignores(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("ignore", [])
    out = {}
    for entry in entries:
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise SystemExit(f"{path}: ignoring {entry.get('id')} needs a reason")
        out[str(entry["id"])] = reason
    return out


def load_cache(path: Path) -> dict[str, Answer]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: Answer(**value) for key, value in raw.items()}
    except (OSError, ValueError, TypeError):
        return {}


def save_cache(path: Path, cache: dict[str, Answer]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: vars(v) for k, v in cache.items()}), encoding="utf-8")
    except OSError:
        pass  # a read-only tree still gets its answer, just not cached


def audit(args: argparse.Namespace) -> int:
    packages = [tuple(p.split("==", 1)) for p in args.packages] if args.packages else installed()
    ignores = load_ignores(args.ignore)
    cache = load_cache(args.cache)
    now = time.time()
    max_age = args.max_age_hours * 3600
    stale = [p for p in packages if now - cache.get("==".join(p), Answer()).fetched_at > max_age]
    errors: list[str] = []
    with httpx.Client(timeout=args.timeout, follow_redirects=True) as client:

        def fetch(package: tuple[str, str]) -> None:
            try:
                cache[f"{package[0]}=={package[1]}"] = ask(client, args.index, *package)
            except Unreachable as exc:
                errors.append(f"{package[0]}: {exc}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fetch, stale))
    save_cache(args.cache, cache)

    known = [(n, v, cache[f"{n}=={v}"]) for n, v in packages if f"{n}=={v}" in cache]
    if not known and packages:
        print(f"dependency audit SKIPPED: {args.index} unreachable ({errors[0]}), nothing cached")
        return 2 if args.strict else 0
    failed = 0
    for name, version, answer in known:
        for vuln in answer.vulns:
            ids = [vuln.get("id", "?"), *vuln.get("aliases", [])]
            waived = next((i for i in ids if i in ignores), None)
            fixed = ", ".join(vuln.get("fixed_in") or []) or "no fix yet"
            if waived:
                print(f"ignored {name} {version}: {waived} ({ignores[waived]})")
                continue
            failed += 1
            print(f"VULNERABLE {name} {version}: {' / '.join(ids)} (fixed in {fixed})")
    unaudited = [f"{n} {v}: {a.note}" for n, v, a in known if not a.audited]
    for line in unaudited:
        print(f"not audited {line}")
    oldest = min((a.fetched_at for _, _, a in known), default=now)
    age = f"; oldest answer {(now - oldest) / 3600:.1f} h old" if errors else ""
    missing = len(packages) - len(known)
    print(f"dependency audit: {len(known) - len(unaudited)} audited, {len(unaudited)} not "
          f"audited, {missing} unreachable, {failed} vulnerable{age}")  # fmt: skip
    if failed:
        return 1
    return 2 if args.strict and (missing or errors) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=DEFAULT_INDEX, help="PyPI JSON API base URL")
    parser.add_argument("--ignore", type=Path, default=DEFAULT_IGNORE)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--max-age-hours", type=float, default=24.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--strict", action="store_true",
                        default=os.environ.get("QA_AUDIT_STRICT", "") not in ("", "0"))  # fmt: skip
    parser.add_argument("packages", nargs="*", help="name==version (default: installed)")
    return audit(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
