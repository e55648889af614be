"""Generated C grows with the formula once per dtype, and long bodies compile at -O1."""
import numpy as np
import sympy as sp

import algebrac as ac
from algebrac.cpu import render
from algebrac.dtypes import DType
from algebrac.lower import passes
from algebrac.lower.elementwise import lower_elementwise, prepare

x, y = sp.symbols("x y")


def _source(exprs):
    prog = prepare(exprs, [x, y])
    kernels = [passes.run(lower_elementwise(prog, dt), "cpu")
               for dt in (DType.FLOAT32, DType.FLOAT64)]
    return render.render_ufunc_module(kernels, 2, len(exprs))


def test_formula_appears_once_per_dtype():
    src = _source([sp.atan2(x, y) * sp.exp(x) + sp.cos(y)])
    assert "atan2" not in src.text and src.main_flags == ("-O1",)  # the main file only registers
    (f32_name, f32, f32_flags), (f64_name, f64, f64_flags) = src.c_files
    assert (f32_name, f64_name) == ("loop_f", "loop_d") and f32_flags == f64_flags == ()
    # one vector copy, called by the contiguous and the gathered-view paths (through the
    # block that checks the flags), and the scalar copy that reruns a flagged block
    assert f32.count("atan2f(_ac_x0") == 2 and f64.count("atan2(_ac_x0") == 2
    assert f64.count("_ac_block_d(") == 3  # definition + two calls
    assert f64.count("_ac_vec_d(") == 2 and f64.count("_ac_one_d(") == 2


def test_long_bodies_compile_at_O1(monkeypatch):
    exprs = [sum(sp.sin(k * x + y) / k for k in range(1, 8)), sp.exp(x * y)]
    monkeypatch.setattr(render, "O1_STATEMENTS", 3)  # the body: 2 loads + 2 outputs
    assert [f[2] for f in _source(exprs).c_files] == [("-O1",), ("-O1",)]
    uf = ac.compile(exprs, [x, y])  # built with the patched threshold: -O1
    assert "-O1" in uf.source
    a = np.linspace(-2, 2, 5001)
    want = sp.lambdify([x, y], exprs, "numpy")(a, a[::-1])
    for got, ref in zip(uf(a, a[::-1]), want):
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-14)


def test_deep_recurrence_compiles():
    """A formula ~800 levels deep: SymPy's recursive walks get a large stack."""
    import math

    steps = 200
    f = x
    for i in range(steps):
        f = sp.sin(f) / 2 + y * i if i % 2 else sp.exp(-f * y) + x
    uf = ac.compile(f, [x, y])
    for a, b in [(0.3, 0.2), (-1.0, 0.7)]:
        ref = a
        for i in range(steps):
            ref = math.sin(ref) / 2 + b * i if i % 2 else math.exp(-ref * b) + a
        np.testing.assert_allclose(uf(np.array([a]), np.array([b]))[0], ref, rtol=1e-12)


def test_long_bodies_ordered_or_split_bit_identical(monkeypatch):
    """A long body ordered so that few values are live (sums as chains of partial sums,
    each value computed just before its first reader), and one also cut into part
    functions (values crossing parts through scratch slots), give exactly the results
    of the body as written."""
    from algebrac.cpu import parts

    terms = [sp.log(1 + (x * k / 9) ** 2) * sp.cos(y / k) - sp.sin(x * y / k) / k
             for k in range(1, 40)]
    exprs = [sp.Add(*terms), sp.Add(*terms).diff(x), sp.exp(-x * y)]
    monkeypatch.setattr(render, "_opt_flags", lambda kernel: ("-O1",))  # the same for all
    monkeypatch.setattr(render, "O1_STATEMENTS", 10**6)
    whole = ac.compile(exprs, [x, y])
    whole_source = whole.source  # rendered now, before the patches
    monkeypatch.setattr(render, "O1_STATEMENTS", 100)
    u, v = sp.symbols("u v")  # another formula key, the same C (names are mangled)
    ordered = ac.compile([e.xreplace({x: u, y: v}) for e in exprs], [u, v])
    assert "_ac_c0" not in whole_source and "_ac_c0" in ordered.source
    monkeypatch.setattr(parts, "PART_STATEMENTS", 17)
    monkeypatch.setattr(parts, "CHAIN_TERMS", 5)
    monkeypatch.setattr(render, "SPLIT_STATEMENTS", 17)
    p, q = sp.symbols("p q")
    split = ac.compile([e.xreplace({x: p, y: q}) for e in exprs], [p, q])
    assert "_ac_part_d0" not in ordered.source and "_ac_part_d5" in split.source
    assert "_ac_c0" in split.source and "_ac_w[" in split.source
    a = np.concatenate([np.linspace(-3, 3, 1001), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    b = np.roll(a, 7)
    want = sp.lambdify([x, y], exprs, "numpy")(a[:1001], b[:1001])
    with np.errstate(all="ignore"):
        for dt in (np.float64, np.float32):
            for args in ((a.astype(dt), b.astype(dt)), (a[::-3].astype(dt), b[::3].astype(dt)),
                         (a[:, None].astype(dt), b[None, :20].astype(dt))):
                for got, ref in zip([*split(*args), *ordered(*args)], 2 * whole(*args)):
                    np.testing.assert_array_equal(got, ref)  # bit-identical, NaN where NaN
        for got, ref in zip(split(a, b), want):
            np.testing.assert_allclose(got[:1001], ref, rtol=1e-12, atol=1e-12)
    assert split(np.array([]), np.array([]))[0].shape == (0,)
