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
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.end_lineno - n.lineno + 1 > 60
        and n.name not in LONG_ON_PURPOSE
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


def _imports(path: Path) -> set[str]:
    """The tcpreach modules ``path`` imports, at its top or inside a function (a lazy import
    is still an import), leaving out what only the type checker reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typed:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tcpreach"):
            found |= {_module(f"{node.module}.{a.name}") or node.module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tcpreach")}
    return found - {_name(path)}


def _module(dotted: str) -> str | None:
    """``dotted`` when it names a module of the package (``from tcpreach.net import probe``)."""
    return dotted if dotted in {_name(p) for p in MODULES} else None


GRAPH = {_name(p): _imports(p) for p in MODULES}


def test_no_module_imports_itself_back_through_others():
    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            here, path = stack.pop()
            for there in GRAPH.get(here, ()):
                if there == start:
                    return [*path, start]
                if there not in seen:
                    seen.add(there)
                    stack.append((there, [*path, there]))
        return None

    assert [c for m in GRAPH if (c := cycle_from(m))] == []


@pytest.mark.parametrize(
    ("layer", "never"),
    [
        (("tcpreach.net", "tcpreach.machine", "tcpreach.standards"), "tcpreach.judging"),
        (("tcpreach.judging",), "tcpreach.net"),
        (("tcpreach.judging",), "tcpreach.machine"),
        (("tcpreach.judging", "tcpreach.net", "tcpreach.report"), "tcpreach.cli"),
        (("tcpreach.judging", "tcpreach.net", "tcpreach.report"), "tcpreach.exporter"),
        (("tcpreach.judging", "tcpreach.net", "tcpreach.report"), "tcpreach.pytest_plugin"),
    ],
    ids=lambda v: v if isinstance(v, str) else "+".join(x.rsplit(".", 1)[-1] for x in v),
)
def test_a_layer_never_imports_what_it_must_not(layer, never):
    crossing = sorted(
        f"{m} -> {i}" for m, imported in GRAPH.items() if m.startswith(layer) for i in imported if i.startswith(never)
    )
    assert crossing == []


def test_the_top_holds_the_vocabulary_and_the_run_alone():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"})
    assert top == [
        "check", "dialogue", "engine", "errors", "expectation", "findings", "model", "options", "outcomes",
    ]  # fmt: skip


def test_no_public_name_is_also_a_submodule_of_the_package():
    """``tcpreach.NAME`` would be the module once anything imported it, not the export."""
    import tcpreach

    submodules = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    assert sorted(set(tcpreach.__all__) & submodules) == []
