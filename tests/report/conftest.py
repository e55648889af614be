"""A real KaTeX (pinned in tools/katex) for checking that every display renders.

``.ci/run`` installs it; on a machine where it is missing the first test that
needs it installs it with ``npm ci`` (Node.js and npm are part of the project's
machines, so a missing npm is a failure, not a skip).
"""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

KATEX_DIR = pathlib.Path(__file__).resolve().parents[2] / "tools" / "katex"


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("the KaTeX tests need Node.js and npm on PATH (see tools/katex/package.json)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=KATEX_DIR, check=True,
                   capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def katex_errors():
    """``katex_errors(list_of_tex) -> list``: ``None`` for each string KaTeX renders, else its error."""
    if not (KATEX_DIR / "node_modules" / "katex" / "package.json").exists():
        _install()

    def check(texs: list) -> list:
        done = subprocess.run(["node", str(KATEX_DIR / "check.js")], input=json.dumps(texs),
                              capture_output=True, text=True, check=True, timeout=120)
        return json.loads(done.stdout)

    return check

