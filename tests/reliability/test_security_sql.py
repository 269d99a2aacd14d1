"""Every SQL statement is parameterized: an AST scan of ``quant_agent/`` (migrations included)
fails on SQL text built from strings: ``text(...)``, ``exec_driver_sql``, ``execute``,
``executemany`` or ``executescript`` given an f-string, ``%``-formatting, ``.format()``,
``.join()`` or concatenation (directly, or through a variable assigned such a value in the
same function). Values go in as bound parameters; the few statements that cannot (DDL naming
an identifier) are allowed below, each with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "quant_agent"
SQL_METHODS = {"execute", "exec_driver_sql", "executemany", "executescript"}
# (file relative to the repository, enclosing function) -> why a built string is unavoidable.
ALLOWED = {
    ("quant_agent/preflight_checks.py", "_scratch_database"):
        "PostgreSQL CREATE/DROP DATABASE: a database name is an identifier, never a bind "
        "parameter; the name is generated here from uuid4 hex, no input reaches it",
}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    call: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {self.call} with string-built SQL"


def _is_built(node: ast.AST) -> bool:
    """True for an expression that builds a string at run time."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True  # "..." + x, "..." % x (a number sum is never a statement)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"format", "join", "replace", "format_map"}
    return False


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.text_names: set[str] = set()  # names bound to sqlalchemy's text()
        self.sa_modules: set[str] = set()  # names bound to the sqlalchemy module
        self.function = "<module>"
        self.built_names: dict[str, set[str]] = {}  # function -> names assigned built strings
        self.findings: list[Finding] = []

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for alias in node.names:
            if alias.name == "sqlalchemy":
                self.sa_modules.add(alias.asname or alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        if (node.module or "").startswith("sqlalchemy"):
            self.text_names |= {a.asname or a.name for a in node.names if a.name == "text"}

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_FunctionDef = _visit_function  # noqa: N815
    visit_AsyncFunctionDef = _visit_function  # noqa: N815

    def visit_Assign(self, node: ast.Assign) -> None:  # noqa: N802
        if _is_built(node.value):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            self.built_names.setdefault(self.function, set()).update(names)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        name = self._sql_call(node)
        if name and node.args and self._built(node.args[0]):
            self.findings.append(Finding(self.path, node.lineno, self.function, name))
        self.generic_visit(node)

    def _sql_call(self, node: ast.Call) -> str | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.text_names:
            return "text()"
        if isinstance(func, ast.Attribute):
            if (
                func.attr == "text"
                and isinstance(func.value, ast.Name)
                and (func.value.id in self.sa_modules)
            ):
                return "text()"
            if func.attr in SQL_METHODS:
                return f".{func.attr}()"
        return None

    def _built(self, arg: ast.AST) -> bool:
        if isinstance(arg, ast.Name):
            return arg.id in self.built_names.get(self.function, set())
        return _is_built(arg)


def scan(source: str, path: str) -> list[Finding]:
    scanner = _Scanner(path)
    scanner.visit(ast.parse(source, filename=path))
    return scanner.findings


def test_no_sql_statement_is_built_from_strings() -> None:
    root = PACKAGE.parent
    findings = [
        finding
        for file in sorted(PACKAGE.rglob("*.py"))
        for finding in scan(file.read_text(encoding="utf-8"), str(file.relative_to(root)))
    ]
    unexpected = [f for f in findings if (f.path, f.function) not in ALLOWED]
    assert not unexpected, "\n".join(map(str, unexpected))
    stale = set(ALLOWED) - {(f.path, f.function) for f in findings}
    assert not stale, f"allow-list entries that no longer match anything: {stale}"


def test_the_scan_catches_each_way_of_building_sql() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import text as sql_text

def bad(conn, name, table):
    conn.execute(sa.text(f"SELECT * FROM t WHERE name = '{name}'"))
    conn.execute(sql_text("SELECT * FROM t WHERE name = '%s'" % name))
    conn.exec_driver_sql("DELETE FROM " + table)
    conn.execute("SELECT {}".format(name))
    query = "UPDATE t SET a = '" + name + "'"
    conn.exec_driver_sql(query)

def good(conn, name):
    conn.execute(sa.text("SELECT * FROM t WHERE name = :name"), {"name": name})
    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    conn.execute(sa.select(sa.literal(1)))
"""
    found = scan(source, "example.py")
    assert [(f.line, f.function) for f in found] == [(6, "bad"), (7, "bad"), (8, "bad"),
                                                     (9, "bad"), (11, "bad")]  # fmt: skip
