"""The mutation score after ``mutmut run`` (``tox -e mutation``): killed ÷ all, per module.

Reads mutmut's own results (``mutmut results --all true``) and prints one row per module
and the total, with the goal from issue 13 (90% killed). Survivors are listed by
``mutmut results``; ``mutmut show NAME`` shows one.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys


def main() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True, check=False
    )
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in done.stdout.splitlines():
        match = re.match(r"\s*(tcpreach\.\w+)\.\S+: (.+)$", line)
        if match:
            counts[match[1]][match[2].strip()] += 1
    if not counts:
        print(done.stdout + done.stderr)
        return 1
    total: collections.Counter[str] = collections.Counter()
    print("| module | killed | survived | other | score |")
    print("|---|---|---|---|---|")
    for module, seen in sorted(counts.items()):
        total.update(seen)
        print(_row(module, seen))
    print(_row("all", total))
    return 0


def _row(label: str, seen: collections.Counter[str]) -> str:
    killed, survived = seen["killed"], seen["survived"]
    other = sum(seen.values()) - killed - survived
    score = killed / max(1, sum(seen.values()))
    return f"| {label} | {killed} | {survived} | {other} | {score:.0%} |"


if __name__ == "__main__":
    raise SystemExit(main())
