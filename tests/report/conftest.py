"""Real KaTeX and MathJax (pinned in tools/texcheck) for checking that every display renders.

``.ci/run`` installs them; on a machine where they are missing the first test
that needs them installs them with ``npm ci`` (Node.js and npm are part of the
project's machines, so a missing npm is a failure, not a skip).
"""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

TEXCHECK = pathlib.Path(__file__).resolve().parents[2] / "tools" / "texcheck"


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("the LaTeX rendering tests need Node.js and npm on PATH "
                    "(see tools/texcheck/package.json)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TEXCHECK, check=True,
                   capture_output=True, timeout=600)


@pytest.fixture(scope="session")
def tex_errors():
    """``tex_errors(list_of_tex) -> list``: per string ``{"katex": err, "mathjax": err}``,
    each ``None`` when that engine renders it."""
    modules = TEXCHECK / "node_modules"
    if not all((modules / p / "package.json").exists() for p in ("katex", "mathjax-full")):
        _install()

    def check(texs: list) -> list:
        done = subprocess.run(["node", str(TEXCHECK / "check.js")], input=json.dumps(texs),
                              capture_output=True, text=True, check=True, timeout=120)
        return json.loads(done.stdout)

    return check
