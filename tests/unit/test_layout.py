"""The package's shape: every module declares its public names, the lazy exports of the
package and of ``tcpreach.testing`` agree with their ``__all__`` and their type-checking
imports, no module outgrows its job, and no function is long."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tcpreach"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
# Functions that are one table or one template, read best whole.
LONG_ON_PURPOSE: set[str] = set()


def _name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_declares_its_public_names_and_stays_small(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [
        n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    ]
    assert len(declared) == 1, f"{_name(path)} declares no __all__"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 350
    long = [
        f"{n.name}: {n.end_lineno - n.lineno + 1} lines"
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.end_lineno - n.lineno + 1 > 60 and n.name not in LONG_ON_PURPOSE
    ]
    assert long == []


@pytest.mark.parametrize("package", ["tcpreach", "tcpreach.testing"])
def test_the_lazy_exports_are_the_public_api_and_each_resolves(package):
    module = importlib.import_module(package)
    exports = module._EXPORTS
    assert sorted(set(module.__all__) - {"__version__"}) == sorted(exports)
    source = Path(module.__file__).read_text(encoding="utf-8")
    typed = next(n for n in ast.parse(source).body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))
    imported = {(n.module, a.name) for n in typed.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert imported == {(where, name) for name, where in exports.items()}
    for name in exports:
        assert getattr(module, name).__name__ == name
