"""Benchmarks: the hello server against the seed's C design, and the suite's time to a
verdict. Every figure is a ratio against a reference measured in the same run."""

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
"""Where every benchmark writes its figures (not committed)."""


def save(name: str, data: Any) -> Path:
    """Write ``data`` as ``bench/out/<name>.json`` and return the path."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
