"""Exact rewriting before lowering: stability rules, target-friendly forms, simplification, CSE.

``ac.simplify`` is this package, callable as :func:`~algebrac.simplify.exact.simplify`
(``ac.simplify(expr)``), as ``ac.diff`` is for derivatives.
"""
from __future__ import annotations

import sys
import types

from .cse import cse
from .exact import simplify
from .rules import Phase, Rule, Trace, rewrite
from .specialize import specialize
from .stabilize import PHASES, all_rules, stabilize
from . import tail_rules  # noqa: F401,E402  (registers the CDF-tail and Horner rules)

__all__ = ["PHASES", "Phase", "Rule", "Trace", "all_rules", "cse", "rewrite", "simplify",
           "specialize", "stabilize"]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`simplify`.

    NOTE: importing a submodule (``algebrac.simplify.rules``) rebinds
    ``algebrac.simplify`` to the package, so the package itself must be the
    public function ``ac.simplify``.
    """

    def __call__(self, expr, **options):
        """``ac.simplify(expr, timeout=2.0, ...)``: see :func:`algebrac.simplify.exact.simplify`."""
        return simplify(expr, **options)


sys.modules[__name__].__class__ = _CallableModule
