"""The LaTeX algebrac prints renders in a real KaTeX (the renderer the notebooks use).

KaTeX runs under node from ``tests/tools`` (``package.json`` pins it); the first run
installs it with ``npm install`` into ``tests/tools/node_modules``.  Without node and npm,
or without network access for that first install, the test is skipped and says which.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

import algebrac as ac
from algebrac.mathfuncs import FUNCTIONS

TOOLS = Path(__file__).resolve().parents[1] / "tools"
HOSTILE = ["x}", "a%b", "#x", "a&b", "x$", "a~b", "a\\b", "{x", "}{", "a\"b", "<x>", "x_1",
           "x_{1}", "alpha_2", "a^b", "a b"]
RENDER = """
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bad = [];
for (const s of items) {
  try { katex.renderToString(s, {throwOnError: true, strict: "error"}); }
  catch (e) { bad.push([s, String(e.message)]); }
}
process.stdout.write(JSON.stringify(bad));
"""


@pytest.fixture(scope="module")
def katex():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: KaTeX cannot run")
    module = TOOLS / "node_modules" / "katex"
    if not module.exists():
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix",
                               str(TOOLS)], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not module.exists():
            pytest.skip(f"npm could not install KaTeX (no network?): {proc.stderr[-300:]}")
    return module


def _render(katex, items):
    proc = subprocess.run(["node", "-e", RENDER, str(katex)], input=json.dumps(items),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def test_katex_renders_hostile_names_and_every_table_function(katex):
    x = sp.Symbol("x")
    items = [ac.latex(sp.Symbol(n) ** 2 + sp.sin(sp.Symbol(n))) for n in HOSTILE]
    args = sp.symbols("a0:4")
    items += [ac.latex(row.sympy(*args[:row.nargs])) for row in FUNCTIONS.values()]
    items += [ac.latex(sp.erf(x) / 2 + sp.S.Half), ac.latex(ac.stabilize(sp.erf(x) / 2 + sp.S.Half))]
    assert _render(katex, items) == []


def test_katex_would_refuse_the_unescaped_names(katex):
    """The check has teeth: SymPy's own LaTeX of these names is refused."""
    bad = _render(katex, [sp.latex(sp.Symbol(n)) for n in ("x}", "a%b", "#x", "a&b")])
    assert len(bad) == 4
