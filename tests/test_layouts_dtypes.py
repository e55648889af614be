"""The ufunc contract of ``ac.compile``: return types, NumPy's keywords, dtypes and layouts.

Everything here shares two compiled formulas (module-scoped fixtures), one
single-output and one two-output, on both backends.  Values are checked with
``assert_matches_reference`` (dtype, shape, scalar-vs-array, NaN mask, signed
zeros, tolerance, inputs unmodified) against ``sympy.lambdify``.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.errors import DTypeError, ShapeError, SignatureError, UnsupportedError
from algebrac.testing import (
    DEFAULT_RTOL,
    assert_matches_reference,
    expected_dtype,
    lambdify_reference,
    max_ulp,
)

x, y = sp.symbols("x y")
ONE = sp.exp(x) * y + sp.Rational(1, 3)
TWO = [ONE, x - y * sp.pi]
BACKENDS = ["numpy", "cpu"]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def one(backend):
    return ac.compile(ONE, [x, y], backend=backend)


@pytest.fixture(scope="module")
def two(backend):
    return ac.compile(TWO, [x, y], backend=backend)


def _check(inputs):
    """Both formulas on both backends against lambdify (memoised compiles).

    exp(x)*y + 1/3 cancels for y < 0; its terms stay below 20 on these inputs.
    """
    atol = 20 * DEFAULT_RTOL[expected_dtype(inputs)]
    assert_matches_reference(ONE, [x, y], inputs, atol=atol)
    assert_matches_reference(TWO, [x, y], inputs, atol=atol)


# -- return types and the real numpy.ufunc -----------------------------------------------

def test_one_expression_returns_an_array_a_list_returns_a_tuple(one, two):
    a = np.linspace(0, 1, 5)
    r1 = one(a, 2.0)
    assert isinstance(r1, np.ndarray) and r1.shape == (5,)
    r2 = two(a, 2.0)
    assert isinstance(r2, tuple) and len(r2) == 2
    assert all(isinstance(r, np.ndarray) for r in r2)
    np.testing.assert_allclose(r2[0], r1, rtol=0)  # one pass, the same values
    assert two.kernel.count(" for ") == 1  # both outputs in one pass over the data
    one_list = ac.compile([ONE], [x, y], backend=one.backend)
    assert isinstance(one_list(a, 2.0), tuple) and len(one_list(a, 2.0)) == 1


def test_cpu_result_wraps_a_real_ufunc():
    uf = ac.compile(TWO, [x, y])
    assert isinstance(uf.ufunc, np.ufunc)
    assert (uf.nin, uf.nout) == (2, 2) == (uf.ufunc.nin, uf.ufunc.nout)
    assert uf.ufunc.types == ["ff->ff", "dd->dd"]  # float32 is tried first
    assert ac.compile(TWO, [x, y], backend="numpy").ufunc is None


def test_float32_loop_uses_float32_math():
    src = ac.compile(TWO, [x, y]).source
    f32, f64 = src.split("_ac_vec_d(")[0], src.split("_ac_vec_d(")[1]
    assert "expf(" in f32 and "0.33333334F" in f32 and "3.1415927F" in f32
    assert "expf(" not in f64 and "0.3333333333333333" in f64 and "3.141592653589793" in f64


# -- dtypes: NumPy's promotion rules, NEP 50 ----------------------------------------------

F32 = np.arange(1, 4, dtype=np.float32)
PROMOTION = [
    ((F32, F32), np.float32),
    ((F32, 2.0), np.float32),                  # Python float is weak (NEP 50)
    ((F32, 2), np.float32),
    ((F32, np.float32(2)), np.float32),
    ((F32, np.float64(2)), np.float64),        # a NumPy float64 scalar is strong
    ((np.float32(1), 2.0), np.float32),
    ((F32, np.arange(3, dtype=np.int8)), np.float32),   # int8 casts safely to float32
    ((F32, np.arange(3, dtype=np.int16)), np.float32),
    ((F32, np.arange(3, dtype=np.int32)), np.float64),
    ((F32, np.arange(3.0)), np.float64),
    ((np.float16([1, 2, 3]), F32), np.float32),
    ((np.arange(3), 2), np.float64),           # integers compute in float64
    ((np.arange(3, dtype=np.int8), np.arange(3, dtype=np.uint8)), np.float64),
    ((np.array([True, False, True]), 1), np.float64),
    ((1, 2), np.float64),
    ((True, 2.5), np.float64),
]


@pytest.mark.parametrize("inputs, want", PROMOTION,
                         ids=[f"{i}" for i in range(len(PROMOTION))])
def test_result_dtype_follows_numpy(two, inputs, want):
    assert expected_dtype(inputs) == np.dtype(want)
    got = two(*inputs)
    assert all(np.asarray(r).dtype == np.dtype(want) for r in got)
    ref = lambdify_reference(TWO, [x, y], [np.asarray(v, dtype=np.float64) for v in inputs])
    rtol = DEFAULT_RTOL[np.dtype(want)]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=rtol)


def test_float32_inputs_compute_in_float32(two):
    """Not float64 rounded at the end: the float32 rounding of exp(x)*y is visible."""
    a = np.linspace(0.1, 3, 1001, dtype=np.float32)
    got = two(a, np.float32(1.1))[0]
    in32 = (np.exp(a) * np.float32(1.1) + np.float32(1 / 3)).astype(np.float32)
    in64 = (np.exp(a.astype(np.float64)) * np.float64(np.float32(1.1)) + 1 / 3).astype(np.float32)
    assert got.dtype == np.float32
    assert (got != in64).any()        # float64 math rounded once would give in64 everywhere
    assert max_ulp(got, in32) <= 4    # what NumPy's float32 arithmetic gives


# -- NumPy's keywords ---------------------------------------------------------------------

def test_out_is_filled_and_returned(one, two):
    a = np.linspace(-1, 1, 7)
    o = np.empty(7)
    assert one(a, 3.0, out=o) is o
    np.testing.assert_allclose(o, np.exp(a) * 3 + 1 / 3, rtol=1e-13)
    o1, o2 = np.empty(7), np.empty(7)
    r = two(a, 3.0, out=(o1, o2))
    assert r[0] is o1 and r[1] is o2
    np.testing.assert_allclose(o2, a - 3 * np.pi, rtol=1e-13)
    o32 = np.empty(7, dtype=np.float32)  # same_kind: float64 results cast into float32
    one(a, 3.0, out=o32)
    np.testing.assert_allclose(o32, (np.exp(a) * 3 + 1 / 3).astype(np.float32), rtol=1e-6)
    strided = np.zeros(14)[::2]  # a non-contiguous out
    one(a, 3.0, out=strided)
    np.testing.assert_allclose(strided, np.exp(a) * 3 + 1 / 3, rtol=1e-13)


def test_out_errors(one, two):
    a = np.linspace(-1, 1, 4)
    with pytest.raises(DTypeError):
        one(a, 2.0, out=np.zeros(4, dtype=np.int64))
    with pytest.raises(ShapeError):
        one(a, 2.0, out=np.zeros(3))
    with pytest.raises((ValueError, TypeError)):
        two(a, 2.0, out=(np.zeros(4),))


def test_where_keeps_masked_elements(one, two):
    a = np.linspace(-1, 1, 6)
    mask = np.array([True, False, True, False, True, False])
    o = np.full(6, -7.0)
    one(a, 2.0, out=o, where=mask)
    np.testing.assert_allclose(o[mask], (np.exp(a) * 2 + 1 / 3)[mask], rtol=1e-13)
    assert (o[~mask] == -7.0).all()
    o1, o2 = np.full(6, -7.0), np.full(6, -8.0)
    two(a, 2.0, out=(o1, o2), where=mask)
    assert (o1[~mask] == -7.0).all() and (o2[~mask] == -8.0).all()
    np.testing.assert_allclose(o2[mask], (a - 2 * np.pi)[mask], rtol=1e-13)


def test_dtype_and_casting(one):
    a = np.linspace(0, 1, 5)
    r = one(a, 2.0, dtype=np.float32)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, np.exp(a) * 2 + 1 / 3, rtol=2e-6)
    r = one(a.astype(np.float32), 2.0, dtype=np.float64)
    assert r.dtype == np.float64
    with pytest.raises(DTypeError):
        one(a, 2.0, dtype=np.float32, casting="no")
    with pytest.raises(DTypeError):
        one(np.arange(5), 2, casting="no")  # int64 -> float64 is not "no" casting
    assert one(a, 2.0, casting="no").dtype == np.float64
    r = one(a, 2.0, dtype=np.float32, casting="unsafe")
    assert r.dtype == np.float32


def test_non_real_inputs_raise_dtype_error(one):
    with pytest.raises(DTypeError):
        one(np.arange(3) + 1j, 2.0)
    with pytest.raises(TypeError):  # DTypeError is a TypeError, as NumPy's errors are
        one(np.array(["a", "b"]), 2.0)


def test_broadcasting_and_shape_errors(two):
    a, b = np.linspace(0, 1, 3)[:, None], np.linspace(1, 2, 4)
    r = two(a, b)
    assert r[0].shape == r[1].shape == (3, 4)
    _check([a, b])
    with pytest.raises(ShapeError):
        two(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        two(np.zeros(3), np.zeros(4))


def test_array_ufunc_dispatch_receives_the_real_ufunc():
    uf = ac.compile(TWO, [x, y])
    seen = []

    class Logged:
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            seen.append((ufunc, method, inputs, kwargs))
            return "handled"

    obj = Logged()
    o = (np.empty(3), np.empty(3))
    assert uf(np.arange(3.0), obj, out=o) == "handled"
    ufunc, method, inputs, kwargs = seen[0]
    assert ufunc is uf.ufunc and method == "__call__"
    assert inputs[1] is obj and kwargs["out"] == o

    class Unit(np.ndarray):  # a subclass wrapping results, as astropy/xarray do
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            raw = [np.asarray(i) for i in inputs]
            out = getattr(ufunc, method)(*raw, **kwargs)
            return tuple(o.view(Unit) for o in out)

    res = uf(np.arange(3.0).view(Unit), 2.0)
    assert all(type(r) is Unit for r in res)


def test_wrong_argument_count_is_a_signature_error(two):
    with pytest.raises(SignatureError, match="takes 2 argument"):
        two(np.zeros(3))


# -- layouts ------------------------------------------------------------------------------

def _layouts(dtype):
    rng = np.random.default_rng(3)
    base = rng.uniform(-2, 2, (6, 5)).astype(dtype)
    ro = base.copy()
    ro.flags.writeable = False
    raw = np.zeros(base.size * base.itemsize + 1, dtype=np.uint8)  # misaligned by one byte
    misaligned = raw[1:].view(dtype).reshape(base.shape)
    misaligned[...] = base
    return {
        "C": base, "F": np.asfortranarray(base), "transposed": base.T.copy().T,
        "reversed": base[::-1, ::-1], "strided": base[::2, ::3], "negative_step": base[::-2],
        "broadcast_row": np.broadcast_to(base[0], (6, 5)), "read_only": ro,
        "misaligned": misaligned, "zero_d": np.array(dtype(0.75)), "scalar": dtype(0.5),
        "empty": np.zeros((0,), dtype), "empty_2d": np.zeros((3, 0), dtype),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("layout", list(_layouts(np.float64)))
def test_layouts(layout, dtype):
    a = _layouts(dtype)[layout]
    if layout.startswith("empty"):
        other = np.zeros(a.shape, dtype)
    else:
        other = np.asarray(a)[..., ::-1] if np.ndim(a) else dtype(1.25)
    _check([a, other])
    _check([a, 1.5])                              # a weak Python scalar
    if np.ndim(a) == 2:
        _check([a, np.linspace(1, 2, a.shape[1]).astype(dtype)])  # broadcast against a row


def test_threaded_strided_and_reversed_inputs():
    """Above the threading cutoff, through the strided path of the loop."""
    big = np.random.default_rng(5).uniform(-2, 2, 400_002)
    _check([big[::2], big[::-2]])
    _check([big.reshape(2, -1).T, 0.5])


def test_zero_d_and_scalars_return_numpy_scalars(one, two):
    r = one(np.array(0.5), 2.0)
    assert isinstance(r, np.float64) and not isinstance(r, np.ndarray)
    r = two(0.5, np.float32(2.0))
    assert all(isinstance(v, np.float32) for v in r)
    assert one(np.zeros((0, 3)), 1.0).shape == (0, 3)


# -- errors at compile time ---------------------------------------------------------------

def test_too_many_arguments_for_cuda():
    """More than a ufunc's 64 operands compile on the cpu (tests/test_large_dag.py)."""
    syms = sp.symbols("a0:65")
    with pytest.raises(SignatureError, match="at most 64"):
        ac.compile(sum(syms), list(syms), backend="cuda")
    syms = sp.symbols("a0:40")
    with pytest.raises(SignatureError, match="40 inputs and 25 outputs"):
        ac.compile([s * 2 for s in syms[:25]], list(syms), backend="cuda")


@pytest.mark.parametrize("expr, name", [
    (sp.Function("f")(x), "f"),
    (sp.Integral(x**2, (y, 0, x)), "Integral"),
    (x + sp.I, "complex constant I"),
    (sp.exp(sp.I * x), "complex constant I"),
    (sp.zoo * x, "zoo"),
    (sp.hyper((1, 2, 3), (4, 5), x), "hyper"),
    (sp.Sum(x**y, (y, 0, sp.oo)), "Sum"),   # finite ones are written out
], ids=["undefined", "Integral", "I", "exp_I", "zoo", "hyper3f2", "Sum"])
def test_unsupported_nodes_are_named(expr, name, backend):
    with pytest.raises(UnsupportedError, match=name):
        ac.compile(expr, [x, y], backend=backend)


def test_signature_errors(backend):
    with pytest.raises(SignatureError, match="y"):
        ac.compile(x * y, [x], backend=backend)
    with pytest.raises(SignatureError, match="repeat"):
        ac.compile(x, [x, x], backend=backend)
    with pytest.raises(SignatureError, match="backend"):
        ac.compile(x, [x], backend="fortran")
