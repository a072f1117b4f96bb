"""How the code is put together: imports of the product's own modules stay at module level.

A function-level import of ``dcc`` or ``webhooks`` is how an import cycle hides from the
reader (and is where the cycles of the past lived). The import contracts in pyproject.toml
(run by ``.ci/run``) forbid the cycles themselves; this keeps them visible.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = ("dcc", "webhooks")


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else ["(relative)"]
    return [alias.name for alias in node.names]


def function_level_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of our own packages made inside a function, unless the
    line carries a comment that says why."""
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for module in _imported(node):
                own = module == "(relative)" or module.split(".")[0] in OWN
                if own and "#" not in lines[node.lineno - 1]:
                    found.append((node.lineno, module))
    return found


def test_no_function_level_import_of_our_own_modules() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in OWN
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for line, module in function_level_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_sees_an_import_inside_a_function() -> None:
    source = (
        "import dcc\n"
        "def f():\n"
        "    from dcc.jobs import tasks\n"
        "    import webhooks.leads\n"
        "    import json\n"
        "def g():\n"
        "    from dcc import app  # the factory: built here because ...\n"
    )
    assert function_level_imports(source) == [(3, "dcc.jobs"), (4, "webhooks.leads")]
