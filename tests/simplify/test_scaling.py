"""The symbolic phase scales with the distinct subexpressions of a formula: work is
counted (comparisons, lookups, rule calls), never timed."""
import collections
import subprocess
import sys

import sympy as sp
from sympy.core.basic import Basic

from algebrac.deep import key_text
from algebrac.lower.elementwise import prepare
from algebrac.simplify import rules
from algebrac.simplify.order import as_written
from algebrac.simplify.substitute import xreplace

x, y = sp.symbols("x y")


class _CountingDict(dict):
    """A dict that counts how often it is read (``dict(d)`` reads every key)."""

    reads = 0

    def __getitem__(self, key):
        _CountingDict.reads += 1
        return super().__getitem__(key)

    def get(self, key, default=None):
        _CountingDict.reads += 1
        return super().get(key, default)

    def __contains__(self, key):
        _CountingDict.reads += 1
        return super().__contains__(key)

    def __iter__(self):   # off CPython's fast path: copying goes through __getitem__
        return iter(list(super().keys()))


def _chain_reads(n: int) -> int:
    """Rule reads to expand a chain of ``n`` temporaries, one call each, as CSE does."""
    t = sp.symbols(f"t0:{n}")
    lets = [(t[0], x + 1)] + [(t[k], t[k - 1] * x + k) for k in range(1, n)]
    full, memo = _CountingDict(), {}
    _CountingDict.reads = 0
    for s, v in lets:
        full[s] = xreplace(v, full, memo)
    return _CountingDict.reads


def test_xreplace_calls_over_a_growing_rule_are_linear():
    assert _chain_reads(200) <= 2.2 * _chain_reads(100)


def _order_comparisons(monkeypatch, n: int) -> int:
    t = sp.symbols(f"_ac_t0:{n}")
    names = {sp.sin((k + 1) * x): t[k] for k in range(n)}
    expr = sp.Add(*[s * y for s in names], x)
    calls = [0]
    eq = Basic.__eq__

    def counting(self, other):
        calls[0] += 1
        return eq(self, other)

    with monkeypatch.context() as m:
        m.setattr(Basic, "__eq__", counting)
        out = xreplace(expr, names, None, as_written)
    assert out.as_ordered_terms() == [a.xreplace(names) for a in expr.as_ordered_terms()]
    return calls[0]


def test_sum_order_of_a_long_sum_is_not_quadratic(monkeypatch):
    """Each term finds its place in the print order by lookup, not by a search."""
    assert _order_comparisons(monkeypatch, 400) <= 2.5 * _order_comparisons(monkeypatch, 200)


def test_cache_key_is_the_same_in_every_process():
    """Cache keys: argument order of sums and products does not depend on hashing."""
    code = ("import sympy as sp; from algebrac.deep import key_text; x, y, z = sp.symbols('x y z');"
            "print(key_text((sp.exp(-z*x)*sp.sin(3*x + y/4) + sp.log(1 + x**2) - sp.cos(y)*z, "
            "x*y*z)))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed, "PATH": "",
                                            "PYTHONPATH": ":".join(sys.path)}).stdout
            for seed in ("1", "2")}
    z = sp.Symbol("z")
    here = key_text((sp.exp(-z * x) * sp.sin(3 * x + y / 4) + sp.log(1 + x ** 2)
                     - sp.cos(y) * z, x * y * z))
    assert runs == {here + "\n"}


def test_outputs_share_the_rewrite_of_their_common_parts(monkeypatch):
    """A gradient repeats its function's subexpressions: a compile of all three outputs
    tries a rule on a node no more often than a compile of one output holding it."""
    f = sum(sp.log(1 + sp.exp(x * k)) * sp.exp(-y / k) for k in range(1, 6))
    tried = collections.Counter()
    call = rules.Rule.__call__

    def counting(self, node):
        tried[self.name, node] += 1
        return call(self, node)

    monkeypatch.setattr(rules.Rule, "__call__", counting)
    alone = collections.Counter()
    for e in (f, f.diff(x), f.diff(y)):
        tried.clear()
        prepare([e], [x, y], stabilize=True)
        alone |= tried   # the largest count of each
    tried.clear()
    prepare([f, f.diff(x), f.diff(y)], [x, y], stabilize=True)
    assert tried and all(n <= alone[key] for key, n in tried.items())
    assert sum(tried.values()) < sum(alone.values()) * 1.5


def test_print_order_is_sympys_order():
    """The sparse ordering of a sum's terms is SymPy's (the order lambdify adds them in),
    ties and all: products, powers (rational, negative, symbolic), functions, constants."""
    import random

    from algebrac.simplify.order import print_order

    rng = random.Random(7)
    z, w = sp.symbols("z w")
    factors = [x, y, z, w, sp.sin(x), sp.exp(y), sp.log(z + 1), sp.sqrt(w), sp.pi,
               x ** sp.Rational(2, 3), sp.exp(-2 * x / 3), sp.sqrt(2), y ** x, sp.cos(x * y)]
    for _ in range(300):
        terms = []
        for _ in range(rng.randint(3, 9)):
            t = sp.Rational(rng.choice([-5, -2, -1, 1, 1, 2, 3]), rng.randint(1, 4))
            for _ in range(rng.randint(0, 3)):
                t *= rng.choice(factors) ** rng.choice([1, 1, 2, -1, 3, -2, sp.S.Half])
            terms.append(t)
        if rng.random() < 0.3:
            terms.append(sp.Integer(rng.randint(-3, 3)))
        assert print_order(terms) == sp.Add(*terms, evaluate=False).as_ordered_terms(), terms
