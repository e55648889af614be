"""Injection and naming safety (GUIDE reliability matrix, item 5).

* algebrac never ``eval``s or ``exec``s text: not in its own source, and not
  through ``sympify`` of a user string;
* no user-supplied name reaches the generated source, even names that are C or
  Python keywords, contain C syntax, or collide with algebrac's own ``_ac_``
  identifiers;
* float constants reach the C source as text that reads back bit-exactly, in
  float64 and float32.

All of this costs two cold compiles (hostile names, constants).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

PACKAGE = Path(ac.__file__).parent


# -- no eval / exec ------------------------------------------------------------

def _package_sources(*suffixes):
    files = sorted(p for s in suffixes for p in PACKAGE.rglob(f"*{s}"))
    assert files, "found no source files to check"
    return files


def test_package_source_has_no_eval_or_exec():
    offenders = []
    for path in _package_sources(".py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name) and func.value.id == "builtins" else None
            )
            if name in ("eval", "exec", "parse_expr", "__import__"):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}(...)")
    for path in _package_sources(".pyx", ".pxd"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\b(eval|exec)\s*\(", code):
                offenders.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert not offenders, "eval/exec in algebrac:\n" + "\n".join(offenders)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("as_list", [False, True], ids=["single", "list"])
def test_string_formulas_are_not_evaluated(tmp_path, backend, as_list):
    """``sympify("...")`` would run the text through eval(): strings must be refused."""
    marker = tmp_path / "pwned"
    x = sp.Symbol("x")
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or x"
    with pytest.raises(ac.SignatureError, match="string") as info:
        ac.compile([x, payload] if as_list else payload, [x], backend=backend)
    assert isinstance(info.value, TypeError)
    assert not marker.exists(), "a string formula was executed"


def test_ufunc_constructor_refuses_strings_too(tmp_path):
    marker = tmp_path / "pwned"
    x = sp.Symbol("x")
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or x"
    with pytest.raises((ac.SignatureError, ac.UnsupportedError)):
        ac.Ufunc((payload,), (x,), single=True, backend="numpy")
    assert not marker.exists(), "a string formula was executed"


# -- hostile names -------------------------------------------------------------

HOSTILE = [
    "I", "in", "do", "int", "lambda", "x.y", "x; import os", "∂f", "__init__",
    "_ac_x0",          # our own input-variable prefix
    "*/ evil",         # would close a C comment
    "_ac_t0",          # our own CSE temporaries
    "_ac_i", "_ac_n",  # our loop index and length
    "_ac_in0", "_ac_out0",
    '"""', "\\", "x\ny",
]


def _symbols(names):
    syms = [sp.Symbol(n) for n in names]
    # two different symbols that print the same: "x" and "x" (positive)
    syms += [sp.Symbol("x"), sp.Symbol("x", positive=True)]
    return syms


def _formulas(s):
    """Six outputs touching every argument, with shared work and a branch."""
    n = len(s)
    shared = sp.exp(s[0] * s[9])
    return [
        sum((k + 1) * s[k] for k in range(n)),
        shared + sp.sin(shared) * s[11],
        sp.Piecewise((s[1] / s[2], s[3] > s[4]), (s[5] ** 2 - s[6], True)),
        s[n - 2] - 2 * s[n - 1],
        s[12] * s[13] + s[14] / s[15] - s[16] * s[17] + s[18],
        s[7] * s[8] - s[10] + sp.sqrt(s[n - 1]),
    ]


def _reference(v):
    n = len(v)
    shared = np.exp(v[0] * v[9])
    return [
        sum((k + 1) * v[k] for k in range(n)),
        shared + np.sin(shared) * v[11],
        np.where(v[3] > v[4], v[1] / v[2], v[5] ** 2 - v[6]),
        v[n - 2] - 2 * v[n - 1],
        v[12] * v[13] + v[14] / v[15] - v[16] * v[17] + v[18],
        v[7] * v[8] - v[10] + np.sqrt(v[n - 1]),
    ]


@pytest.fixture(scope="module")
def hostile():
    syms = _symbols(HOSTILE)
    return syms, ac.compile(_formulas(syms), syms)


def test_hostile_names_compute_correctly(hostile, rng):
    syms, uf = hostile
    assert uf.backend == "cpu" and uf.source is not None
    values = [rng.uniform(0.5, 2.0, size=9) for _ in syms]
    got = uf(*values)
    want = _reference(values)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=0, err_msg=f"output {k}")
    # the reference interpreter agrees too (it never sees the user's names either)
    ref = ac.compile(_formulas(syms), syms, backend="numpy")(*values)
    for k, (g, r) in enumerate(zip(got, ref)):
        np.testing.assert_allclose(g, r, rtol=1e-13, atol=0, err_msg=f"output {k}")


def test_colliding_names_keep_their_positions(rng):
    """A user symbol called ``_ac_x0`` placed second must still be the second input."""
    a, fake = sp.Symbol("a"), sp.Symbol("_ac_x0")
    t0 = sp.Symbol("_ac_t0")
    uf = ac.compile([a - 2 * fake, sp.exp(a * fake) + sp.exp(a * fake) ** 2 * t0],
                    [a, fake, t0], backend="numpy")
    va, vf, vt = rng.normal(size=(3, 5))
    got = uf(va, vf, vt)
    np.testing.assert_allclose(got[0], va - 2 * vf, rtol=1e-15)
    e = np.exp(va * vf)
    np.testing.assert_allclose(got[1], e + e * e * vt, rtol=1e-14)


def test_no_user_name_in_generated_source(hostile):
    syms, uf = hostile
    source = str(uf.source)
    # The strongest statement: the same formula over bland names gives the
    # very same source text (and so the same cache entry).
    bland = [sp.Symbol(f"b{k}", **s.assumptions0) for k, s in enumerate(syms)]
    assert ac.compile(_formulas(bland), bland).source == source
    assert str(ac.compile(_formulas(bland), bland).kernel) == str(uf.kernel)
    # And directly: identifiers that are not algebrac's own (_ac_...) never
    # spell a user name; names that are not identifiers never occur at all.
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    foreign = {t for t in identifiers if not t.startswith("_ac_")}
    for name in ("I", "lambda", "__init__", "evil", "os", "import", "y"):
        assert name not in foreign, f"user name {name!r} in the generated source"
    for text in ("x.y", "x; import", "∂", "*/ evil", "evil"):
        assert text not in source
    # generated text is plain ASCII: not even a non-ASCII user name got through
    assert source.isascii()
    # every _ac_x<k> refers to an argument position, never beyond
    positions = {int(m) for m in re.findall(r"\b_ac_x(\d+)\b", source)}
    assert positions == set(range(len(syms)))


# -- float constants -----------------------------------------------------------

CONSTANTS = [
    ("0.1", sp.Float(0.1)),
    ("1/3 as Float", sp.Float(1) / 3),
    ("1e-310", sp.Float(1e-310)),
    ("5e-324", sp.Float(5e-324)),
    ("max double", sp.Float(1.7976931348623157e308)),
    ("-0.0", sp.Float(-0.0)),
    ("2**-1074", sp.Float(2.0 ** -1074)),
    ("123456789.123456789", sp.Float("123456789.123456789")),
    ("pi to 30 digits", sp.pi.evalf(30)),
    ("-1e-310", sp.Float(-1e-310)),
    ("float32 subnormal", sp.Float(1e-40)),
    ("max float32", sp.Float(3.4028234663852886e38)),
    ("Rational(1, 3)", sp.Rational(1, 3)),
    ("Rational(1, 10)", sp.Rational(1, 10)),
    ("pi symbol", sp.pi),
]


@pytest.fixture(scope="module")
def constants():
    x = sp.Symbol("x")
    return ac.compile([x + c for _, c in CONSTANTS], [x])


def _bits(a):
    a = np.asarray(a)
    return a.view(np.int64 if a.dtype == np.float64 else np.int32)


@pytest.mark.parametrize("shape", [(), (4,)], ids=["scalar", "array"])
def test_float64_constants_round_trip(constants, shape):
    got = constants(np.zeros(shape))
    for (label, c), g in zip(CONSTANTS, got):
        assert g.dtype == np.float64
        want = np.full(shape, np.float64(0.0) + np.float64(float(c)))
        assert (_bits(g) == _bits(want)).all(), f"{label}: got {g!r}, want {want!r}"
    # the exact decimal values, spelled out for the classic ones
    by_label = dict(zip([lbl for lbl, _ in CONSTANTS], got))
    assert float(np.ravel(by_label["0.1"])[0]) == 0.1
    assert float(np.ravel(by_label["5e-324"])[0]) == 5e-324
    assert float(np.ravel(by_label["1e-310"])[0]) == 1e-310
    assert float(np.ravel(by_label["Rational(1, 3)"])[0]) == 1 / 3
    assert float(np.ravel(by_label["pi to 30 digits"])[0]) == np.pi


@pytest.mark.parametrize("shape", [(), (4,)], ids=["scalar", "array"])
def test_float32_constants_round_trip(constants, shape):
    got = constants(np.zeros(shape, np.float32))
    with np.errstate(over="ignore"):
        for (label, c), g in zip(CONSTANTS, got):
            assert g.dtype == np.float32, label
            if isinstance(c, sp.Rational):
                continue  # checked below: rationals are rounded once, straight to float32
            want = np.full(shape, np.float32(0.0) + np.float32(float(c)))
            assert (_bits(g) == _bits(want)).all(), f"{label}: got {g!r}, want {want!r}"
    by_label = dict(zip([lbl for lbl, _ in CONSTANTS], got))
    assert (_bits(by_label["Rational(1, 3)"]) == _bits(np.float32(1 / 3))).all()
    assert (_bits(by_label["Rational(1, 10)"]) == _bits(np.float32(0.1))).all()
    assert (_bits(by_label["float32 subnormal"]) == _bits(np.float32(1e-40))).all()
    assert np.ravel(by_label["float32 subnormal"])[0] != 0  # no flush-to-zero
    assert np.isinf(by_label["max double"]).all()  # 1.8e308 overflows float32


def test_negative_zero_survives_the_kernel(constants):
    # x + c at x = -0.0 follows IEEE (-0.0 + 0.1 = 0.1).  SymPy has no signed
    # zero (Float(-0.0) == 0) and folds x + 0.0 to x, so that output is x
    # itself and must give back -0.0, not +0.0.
    x = sp.Symbol("x")
    got = constants(-0.0)
    for (label, c), g in zip(CONSTANTS, got):
        e = x + c
        want = np.float64(-0.0) if e == x else np.float64(-0.0) + np.float64(float(e - x))
        assert _bits(g) == _bits(want), f"{label}: got {g!r}, want {want!r}"
