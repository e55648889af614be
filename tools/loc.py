"""Count non-blank, non-comment lines of algebrac/ and fail above the budget.

Usage: ``python tools/loc.py [--budget N]``.  After tinygrad's ``sz.py``: the
budget keeps the codebase small enough to read in an afternoon.  Docstrings
count as code here; they are part of what a reader has to read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

BUDGET = 16_000  # raised for the tensor compiler, CUDA and the data-stack integrations (issue 9)
ROOT = Path(__file__).resolve().parent.parent / "algebrac"
SUFFIXES = {".py", ".pyx", ".pxd", ".h"}


def count(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    comment = "//" if path.suffix == ".h" else "#"
    return sum(1 for line in lines if line.strip() and not line.strip().startswith(comment))


def report(root: Path = ROOT) -> dict:
    return {p.relative_to(root.parent): count(p) for p in sorted(root.rglob("*"))
            if p.suffix in SUFFIXES and p.is_file()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=BUDGET)
    ns = parser.parse_args(argv)
    sizes = report()
    for path, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"{n:6d}  {path}")
    total = sum(sizes.values())
    print(f"{total:6d}  total (budget {ns.budget})")
    return 0 if total <= ns.budget else 1


if __name__ == "__main__":
    sys.exit(main())
