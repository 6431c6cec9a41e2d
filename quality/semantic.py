"""Hand-written semantic mutants against the fast tiers: ``python -m quality.semantic``.

mutmut changes operators and constants everywhere; the mutants in ``quality/mutants.toml``
are instead the bugs people make (a finding claimed on partial evidence, a detail a user
sees, a timing or an option lost on its way), written by hand, one per entry. Each is
applied alone to a copy of this working tree, and the fast tiers (``-m 'not docker and not
edge and not remote'``) run against it, stopping at the first failure: a mutant they fail
is killed, one they pass survives. Prints the score per kind and each survivor; the result
goes to ``bench/out/semantic.json``.

    python -m quality.semantic                  # every mutant (about 20 s each here)
    python -m quality.semantic --only regex-anchored --only escape-upper-hex
    python -m quality.semantic --check          # only check that every mutant applies
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import save  # the one place figures are written (bench/out)

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "quality" / "mutants.toml"
FAST = "not docker and not edge and not remote"
_CHECKS_THE_MUTANTS = "tests/local/test_bench.py::test_every_hand_written_mutant_applies_to_the_code_as_it_is"
"""Fails with any mutant in (its text is gone from the file): it checks this list, not the code."""
_SKIP = shutil.ignore_patterns(".git", ".venv", "mutants", ".mutmut-cache", "out", "__pycache__", ".tox", "*.egg-info")


@dataclass(frozen=True)
class Mutant:
    id: str
    kind: str
    bug: str
    file: str
    find: str
    replace: str

    def applied(self, text: str) -> str:
        """``text`` with the mutant in; raises ``ValueError`` unless ``find`` is there exactly once."""
        count = text.count(self.find)
        if count != 1:
            raise ValueError(f"{self.id}: {self.find!r} is in {self.file} {count} times, not once")
        return text.replace(self.find, self.replace)


def load(path: Path = MUTANTS) -> list[Mutant]:
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["mutant"]
    mutants = [Mutant(**entry) for entry in entries]
    ids = [m.id for m in mutants]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"mutant ids given twice: {', '.join(duplicated)}")
    return mutants


def _pytest(copy: Path, *only: str) -> subprocess.CompletedProcess[str]:
    """The fast tiers, or only the tests named, in the copy; stopping at the first failure."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)  # a tier that cannot run here skips instead of failing the baseline
    where = [*only, "-n", "0"] if only else ["-m", FAST, "-n", "auto", "--deselect", _CHECKS_THE_MUTANTS]
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *where]
    return subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, check=False)


def _killed(copy: Path) -> str | None:
    """The test that fails with the mutant in, or ``None``. A failure counts only when that
    test fails again alone: a flake under load kills no mutant (the tiers run once more)."""
    pytest_failed = 1  # pytest's exit status when tests ran and one failed (not: none found, 4 or 5)
    for _ in range(2):
        done = _pytest(copy)
        if done.returncode == 0:
            return None
        test = _first_failure(done.stdout)
        if "::" not in test or _pytest(copy, test).returncode == pytest_failed:
            return test
    return None


def _first_failure(output: str) -> str:
    """The node id of the first failure in pytest's summary (``FAILED id - message``; an id
    may hold spaces), else a plain word that the run failed."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ", 1)[0]
    return "the run (no test id in its summary)"


def run(mutants: Sequence[Mutant]) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory(prefix="tcpreach-semantic-") as scratch:
        copy = Path(scratch) / "repo"
        shutil.copytree(ROOT, copy, ignore=_SKIP)
        where = subprocess.run(
            [sys.executable, "-c", "import tcpreach; print(tcpreach.__file__)"],
            cwd=copy, env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if not where.startswith(str(copy)):
            raise SystemExit(f"the copy's tests would import {where}, not the copy: cannot mutate")
        baseline = _pytest(copy)
        if baseline.returncode != 0:
            raise SystemExit(f"the fast tiers fail without any mutant:\n{baseline.stdout[-3000:]}")
        for mutant in mutants:
            target = copy / mutant.file
            original = target.read_text(encoding="utf-8")
            target.write_text(mutant.applied(original), encoding="utf-8")
            start = time.monotonic()
            try:
                by = _killed(copy)
            finally:
                target.write_text(original, encoding="utf-8")
            results.append({"id": mutant.id, "kind": mutant.kind, "bug": mutant.bug, "killed": by is not None,
                            "by": by, "seconds": round(time.monotonic() - start, 1)})  # fmt: skip
            print(f"  {mutant.id}: {'SURVIVED' if by is None else 'killed by ' + by}", file=sys.stderr, flush=True)
    return {"mutants": results}


def table(result: dict[str, Any]) -> str:
    by_kind: dict[str, collections.Counter[bool]] = collections.defaultdict(collections.Counter)
    for row in result["mutants"]:
        by_kind[row["kind"]][row["killed"]] += 1
        by_kind["all"][row["killed"]] += 1
    lines = ["| kind | killed | survived | score |", "|---|---|---|---|"]
    for kind in [*sorted(k for k in by_kind if k != "all"), "all"]:
        seen = by_kind[kind]
        total = seen[True] + seen[False]
        lines.append(f"| {kind} | {seen[True]} | {seen[False]} | {100 * seen[True] / total:.0f}% |")
    survivors = [row for row in result["mutants"] if not row["killed"]]
    if survivors:
        lines += ["", "Survivors:"] + [f"- `{row['id']}` ({row['kind']}): {row['bug']}" for row in survivors]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality.semantic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run this mutant (repeatable)")
    parser.add_argument("--check", action="store_true", help="check that every mutant applies, run nothing")
    args = parser.parse_args(argv)
    try:
        mutants = load()
        for mutant in mutants:
            mutant.applied((ROOT / mutant.file).read_text(encoding="utf-8"))
    except (ValueError, OSError, TypeError) as exc:
        print(f"quality.semantic: {exc}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.only) - {m.id for m in mutants})
    if unknown:
        print(f"quality.semantic: no mutant {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(mutants)} mutants, each applies once")
        return 0
    chosen = [m for m in mutants if not args.only or m.id in args.only]
    result = run(chosen)
    if not args.only:
        save("semantic", result)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
