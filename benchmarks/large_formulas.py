"""The large formulas of ``bench_compile.py --large``: built once, then compiled by each tool.

* ``pendulum n``: the right-hand side ``M(q)^-1 f(q, u)`` of an n-link planar
  pendulum (point masses on massless rods, Kane's method from
  ``sympy.physics.mechanics``) and its Jacobian with respect to the 2n states;
  masses, lengths and g are arguments too.  The Jacobian is ``M^-1 (dF - dM M^-1 F)``
  (the derivative of the solve, one more LU solve): SymPy's ``jacobian`` of the
  solved right-hand side did not finish for n = 5.
* ``taylor``: the 4th-order Taylor polynomial at 0 of a 6-variable function.
* ``sum N``: a sum of N terms in x, y and its gradient (3 outputs).
* ``ode N``: the right-hand side of a 1-D reaction-diffusion system of N
  equations (as ``bench_datastack.py``'s ``solve_ivp`` row); tools compile it
  with its sparse Jacobian (``ac.ode``: one C function each, evaluated at a point).
"""
from __future__ import annotations

import sympy as sp


def pendulum(n: int, jacobian: bool = True):
    import sympy.physics.mechanics as me

    q, u = me.dynamicsymbols(f"q:{n}"), me.dynamicsymbols(f"u:{n}")
    m, l, g = sp.symbols(f"m:{n}"), sp.symbols(f"l:{n}"), sp.Symbol("g")
    N, O = me.ReferenceFrame("N"), me.Point("O")
    O.set_vel(N, 0)
    particles, loads, kd, prev = [], [], [], O
    for i in range(n):
        B = N.orientnew(f"B{i}", "Axis", [q[i], N.z])
        B.set_ang_vel(N, u[i] * N.z)
        P = prev.locatenew(f"P{i}", l[i] * B.x)
        P.v2pt_theory(prev, N, B)
        particles.append(me.Particle(f"Pa{i}", P, m[i]))
        loads.append((P, m[i] * g * N.x))
        kd.append(q[i].diff() - u[i])
        prev = P
    kane = me.KanesMethod(N, q_ind=q, u_ind=u, kd_eqs=kd)
    kane.kanes_equations(particles, loads)
    states = sp.symbols(f"x:{2 * n}")
    to_states = dict(zip(list(q) + list(u), states))
    M, F = (a.xreplace(to_states) for a in (kane.mass_matrix_full, kane.forcing_full))
    rhs = M.LUsolve(F)
    exprs = list(rhs)
    if jacobian:  # d(M^-1 F) = M^-1 (dF - dM M^-1 F): one more solve, not SymPy's diff of rhs
        dMr = sp.Matrix.hstack(*[M.diff(s) * rhs for s in states])
        exprs += list(M.LUsolve(F.jacobian(states) - dMr))
    return exprs, [*states, *m, *l, g]


def taylor(order: int = 4):
    xs = sp.symbols("x:6")
    t = sp.Symbol("t")
    f = sp.exp(xs[0] - xs[1] / 2) * sp.cos(xs[2] * xs[3] + xs[4]) / (1 + xs[5] ** 2)
    ft = f.xreplace({v: t * v for v in xs})
    poly = sp.series(ft, t, 0, order + 1).removeO().subs(t, 1)
    return [sp.expand(poly)], list(xs)


def sum_terms(n: int):
    x, y = sp.symbols("x y")
    terms = []
    for k in range(1, n + 1):
        a, b = sp.Rational(k % 7 + 1, 3), sp.Rational(k % 5 + 1, 4)
        c = sp.Rational(1, k % 11 + 2)
        terms.append(sp.sin(a * x + b * y) * sp.exp(-c * (x - y) ** 2) / k
                     + sp.log(1 + (x * k / n) ** 2) * sp.cos(b * y))
    f = sp.Add(*terms)
    return [f, f.diff(x), f.diff(y)], [x, y]


def reaction_diffusion(n: int):
    u = sp.symbols(f"u0:{n}")
    D, a, h2 = sp.Rational(1, 1000), sp.Rational(1, 4), sp.Rational(1, n) ** 2
    rhs = [D * ((u[i - 1] if i else u[1]) - 2 * u[i] + (u[i + 1] if i < n - 1 else u[n - 2]))
           / h2 + u[i] * (1 - u[i]) * (u[i] - a) for i in range(n)]
    return rhs, list(u)


def build(case: str):
    kind, _, size = case.partition(" ")
    if kind == "pendulum":
        return pendulum(int(size))
    if kind == "taylor":
        return taylor()
    if kind == "sum":
        return sum_terms(int(size))
    if kind == "ode":
        return reaction_diffusion(int(size))
    raise ValueError(case)


def op_count(exprs, dag: bool = False) -> int:
    """Operations in the expression trees (as ``sympy.count_ops``: an n-ary sum is n-1
    additions), counted over the distinct subtrees so shared parts cost no time; with
    ``dag``, each distinct subexpression's operations once (what a shared-DAG compiler
    evaluates: 659 against 80,094 for the 3-link pendulum)."""
    memo: dict = {}
    stack = list(exprs)
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        own = max(len(node.args) - 1, 1) if node.args and not node.is_Atom else 0
        memo[node] = own + (0 if dag else sum(memo[a] for a in node.args))
    return sum(memo.values()) if dag else sum(memo[e] for e in exprs)
