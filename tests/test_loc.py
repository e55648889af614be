"""The line budget of algebrac/ (tools/loc.py) holds, and no file grows past 800 lines."""
from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "loc.py"


def _tool():
    spec = importlib.util.spec_from_file_location("loc", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_total_within_budget():
    loc = _tool()
    sizes = loc.report()
    assert sizes, "tools/loc.py found no source files"
    assert sum(sizes.values()) <= loc.BUDGET


def test_no_file_past_800_lines():
    loc = _tool()
    big = {str(p): n for p, n in loc.report().items() if n > 800}
    assert not big, f"split these files by concept: {big}"
