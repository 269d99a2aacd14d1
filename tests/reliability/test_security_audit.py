"""The dependency audit of ``make lint`` (``tools/dep_audit.py``) against a local index on
127.0.0.1 that plays PyPI's JSON API: a vulnerable version fails the check naming the
package, the advisory and the fix; an advisory listed with a reason is let pass; a package
the index has no version data for is "not audited"; an unreachable index never fails
``make lint`` (SKIPPED, or the cached answers) unless ``--strict``.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from quant_agent.testkit.notify_servers import free_port

REPO = Path(__file__).resolve().parents[2]
VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fixed_in": ["2.0.1"],
        "withdrawn": None, "summary": "remote code execution"}  # fmt: skip
DOCS = {  # path -> JSON body; anything else is 404, as the proxy PyPI here answers
    "/pypi/badpkg/2.0.0/json": {"info": {"version": "2.0.0"}, "vulnerabilities": [VULN]},
    "/pypi/goodpkg/json": {"info": {"version": "1.0.0"}, "vulnerabilities": []},
    "/pypi/oldpkg/json": {"info": {"version": "9.0.0"}, "vulnerabilities": []},
    "/pypi/waived/json": {"info": {"version": "3.0.0"},
                          "vulnerabilities": [{**VULN, "id": "GHSA-aaaa-bbbb-cccc"}]},
}  # fmt: skip


@pytest.fixture
def index() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = DOCS.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body or {"message": "Not Found"}).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    server.shutdown()
    server.server_close()


def audit(tmp_path: Path, index: str, *packages: str, strict: bool = False,
          ignore: str = "") -> subprocess.CompletedProcess[str]:  # fmt: skip
    (tmp_path / "ignore.toml").write_text(ignore)
    argv = [sys.executable, str(REPO / "tools" / "dep_audit.py"), "--index", index, "--cache",
            str(tmp_path / "cache.json"), "--ignore", str(tmp_path / "ignore.toml"),
            "--timeout", "5", *(["--strict"] if strict else []), *packages]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_a_vulnerable_version_fails_naming_package_advisory_and_fix(tmp_path: Path,
                                                                   index: str) -> None:  # fmt: skip
    done = audit(tmp_path, index, "badpkg==2.0.0", "goodpkg==1.0.0", "oldpkg==1.0.0")
    assert done.returncode == 1, done.stdout
    assert "VULNERABLE badpkg 2.0.0: PYSEC-2099-1 / CVE-2099-0001 (fixed in 2.0.1)" in done.stdout
    assert "not audited oldpkg 1.0.0: no data for this version on the index (latest is 9.0.0)" in (
        done.stdout)  # fmt: skip
    assert "2 audited, 1 not audited, 0 unreachable, 1 vulnerable" in done.stdout


def test_an_advisory_is_let_pass_only_with_a_reason(tmp_path: Path, index: str) -> None:
    entry = '[[ignore]]\nid = "GHSA-aaaa-bbbb-cccc"\nreason = "{}"\n'
    done = audit(tmp_path, index, "waived==3.0.0", ignore=entry.format("only the CLI is hit"))
    assert done.returncode == 0, done.stdout
    assert "ignored waived 3.0.0: GHSA-aaaa-bbbb-cccc (only the CLI is hit)" in done.stdout
    done = audit(tmp_path, index, "waived==3.0.0", ignore=entry.format(""))
    assert done.returncode != 0 and "needs a reason" in done.stderr


def test_an_unreachable_index_never_fails_lint_unless_strict(tmp_path: Path, index: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/pypi"
    done = audit(tmp_path, nowhere, "goodpkg==1.0.0")
    assert done.returncode == 0 and "dependency audit SKIPPED" in done.stdout, done.stdout
    assert audit(tmp_path, nowhere, "goodpkg==1.0.0", strict=True).returncode == 2
    # Once answered, the cache carries the verdict through an outage.
    assert audit(tmp_path, index, "badpkg==2.0.0").returncode == 1
    cached = audit(tmp_path, nowhere, "badpkg==2.0.0")
    assert cached.returncode == 1 and "VULNERABLE badpkg 2.0.0" in cached.stdout
