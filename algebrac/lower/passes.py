"""Named IR passes and the pipeline each target runs.

Each pass is a pure function ``Kernel -> Kernel`` that owns one idea.
``run`` applies ``PIPELINES[target]`` in order, checks the IR between passes
when ``ALGEBRAC_CHECK=1`` (always in tests) and prints it after each pass at
``ALGEBRAC_DEBUG>=3``.

>>> import sympy as sp
>>> from algebrac.lower.elementwise import prepare, lower_elementwise
>>> x = sp.Symbol("x")
>>> k = run(lower_elementwise(prepare([x + 1], [x]), DType.FLOAT64), "cpu")
>>> k.body[0].kind, k.stage
(<LoopKind.PARALLEL: 'parallel'>, <Stage.READY: 3>)
"""
from __future__ import annotations

import os
from dataclasses import replace

from .. import config
from ..dtypes import DType  # noqa: F401 (doctest)
from .ir import Accumulate, Call, Kernel, Loop, LoopKind, Stage, Transformer, pformat, verify

__all__ = ["mark_parallel", "finish", "PIPELINES", "run"]


class _MarkParallel(Transformer):
    def visit_Loop(self, loop: Loop):
        body = tuple(self.visit(s) for s in loop.body)
        independent = not any(isinstance(s, (Accumulate, Call, Loop)) for s in body)
        kind = LoopKind.PARALLEL if independent else loop.kind
        return replace(loop, body=body, kind=kind)


def mark_parallel(kernel: Kernel) -> Kernel:
    """Mark innermost loops whose iterations are independent as PARALLEL (threads + SIMD)."""
    return _MarkParallel().visit(kernel)


def finish(kernel: Kernel) -> Kernel:
    """Check the kernel and mark it READY for printing."""
    return replace(verify(kernel), stage=Stage.READY)


PIPELINES = {
    "cpu": (
        mark_parallel,  # elementwise loops: OpenMP threads and SIMD on the CPU
        finish,         # verify, then hand to the printer
    ),
    "numpy": (
        finish,         # the interpreter vectorises independent loops itself
    ),
}


def run(kernel: Kernel, target: str) -> Kernel:
    """Apply the target's pipeline."""
    check = os.environ.get("ALGEBRAC_CHECK", "0") not in ("", "0")
    for p in PIPELINES[target]:
        kernel = p(kernel)
        if check:
            verify(kernel)
        if config.debug() >= 3:  # pformat of a large kernel costs seconds: only when shown
            config.log(3, f"after {p.__name__}:\n{pformat(kernel)}")
    return kernel
