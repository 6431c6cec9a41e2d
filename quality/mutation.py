"""The mutation score after ``mutmut run`` (``tox -e mutation``): caught ÷ all, per module
(caught: killed, or timed out).

Reads mutmut's own results (``mutmut results --all true``) and prints one row per module
and the total, with the goal from issue 13 (90%). ``--survivors`` prints instead the
mutants that were not caught, by module, each with its change: the list at the end of
``docs/mutation.md``. ``mutmut show NAME`` shows one in context.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys

# A mutant's name: the module, then x_FUNCTION or xǁCLASSǁMETHOD, then __mutmut_N.
_RESULT = re.compile(r"\s*((tcpreach(?:\.[a-z0-9_]+)*?)\.x[_ǁ]\S+): (.+)$")
CAUGHT = {"killed", "timeout"}


def tally(results: str) -> tuple[dict[str, collections.Counter[str]], dict[str, list[tuple[str, str]]]]:
    """Each module's count of each status, and its mutants that survived, from ``mutmut
    results --all true``. A timeout is caught: the mutant made a test hang until its limit."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    not_caught: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for line in results.splitlines():
        match = _RESULT.match(line)
        if match:
            status = match[3].strip()
            counts[match[2]][status] += 1
            if status not in CAUGHT | {"not checked"}:
                not_caught[match[2]].append((match[1], status))
    return counts, not_caught


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True, check=False
    )
    counts, not_caught = tally(done.stdout)
    if not counts:
        print(done.stdout + done.stderr)
        return 1
    if "--survivors" in args:
        for module, mutants in sorted(not_caught.items()):
            print(f"\n### {module}\n")
            for name, status in sorted(mutants):
                print(f"- `{name}` ({status})\n  ```diff\n{_change(name)}\n  ```")
        return 0
    total: collections.Counter[str] = collections.Counter()
    print("| module | killed | timeout | survived | other | caught |")
    print("|---|---|---|---|---|---|")
    for module, seen in sorted(counts.items()):
        total.update(seen)
        print(row(module, seen))
    print(row("all", total))
    return 0


def _change(name: str) -> str:
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], capture_output=True, text=True, check=False)
    diff = shown.stdout.splitlines()
    lines = [line for line in diff if line.startswith(("-", "+")) and line[:3] not in {"---", "+++"}]
    return "\n".join(f"  {line}" for line in lines)


def row(label: str, seen: collections.Counter[str]) -> str:
    """A table row: killed, timed out, survived, anything else, and the share caught."""
    killed, timeout, survived = seen["killed"], seen["timeout"], seen["survived"]
    other = sum(seen.values()) - killed - timeout - survived
    caught = (killed + timeout) / max(1, sum(seen.values()))
    return f"| {label} | {killed:,} | {timeout:,} | {survived:,} | {other:,} | {caught:.0%} |"


if __name__ == "__main__":
    raise SystemExit(main())
