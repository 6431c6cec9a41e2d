"""The mutation score after ``mutmut run`` (``tox -e mutation``): killed ÷ all, per module.

Reads mutmut's own results (``mutmut results --all true``) and prints one row per module
and the total, with the goal from issue 13 (90% killed). ``--survivors`` prints instead the
mutants that were not killed, by module, each with its change: the list at the end of
``docs/mutation.md``. ``mutmut show NAME`` shows one in context.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True, check=False
    )
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    not_killed: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for line in done.stdout.splitlines():
        match = re.match(r"\s*((tcpreach(?:\.[a-z0-9_]+)*?)\.x_\S+): (.+)$", line)
        if match:
            counts[match[2]][match[3].strip()] += 1
            if match[3].strip() not in {"killed", "not checked"}:
                not_killed[match[2]].append((match[1], match[3].strip()))
    if not counts:
        print(done.stdout + done.stderr)
        return 1
    if "--survivors" in args:
        for module, mutants in sorted(not_killed.items()):
            print(f"\n### {module}\n")
            for name, status in sorted(mutants):
                print(f"- `{name}` ({status})\n  ```diff\n{_change(name)}\n  ```")
        return 0
    total: collections.Counter[str] = collections.Counter()
    print("| module | killed | survived | other | score |")
    print("|---|---|---|---|---|")
    for module, seen in sorted(counts.items()):
        total.update(seen)
        print(_row(module, seen))
    print(_row("all", total))
    return 0


def _change(name: str) -> str:
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], capture_output=True, text=True, check=False)
    diff = shown.stdout.splitlines()
    lines = [line for line in diff if line.startswith(("-", "+")) and line[:3] not in {"---", "+++"}]
    return "\n".join(f"  {line}" for line in lines)


def _row(label: str, seen: collections.Counter[str]) -> str:
    killed, survived = seen["killed"], seen["survived"]
    other = sum(seen.values()) - killed - survived
    score = killed / max(1, sum(seen.values()))
    return f"| {label} | {killed} | {survived} | {other} | {score:.0%} |"


if __name__ == "__main__":
    raise SystemExit(main())
