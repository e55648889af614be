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
from .ir import Kernel, Stage, pformat, verify
from .blas import block_rows, orient_temporaries, scale_into_gemm, use_blas
from .memory import reuse_temporaries, store_shared_calls
from .schedule import fuse_loops, hoist_invariants, mark_parallel, mark_simd, scalarize

__all__ = ["mark_parallel", "finish", "PIPELINES", "run"]


def finish(kernel: Kernel) -> Kernel:
    """Check the kernel and mark it READY for printing."""
    return replace(verify(kernel), stage=Stage.READY)


_SCHEDULE = (
    use_blas,          # matrix-matrix contractions: one gemm call (compute-bound)
    scale_into_gemm,   # out = c * (gemm result): the gemm writes out, alpha = c
    orient_temporaries,  # a gemm writes its temporary in the layout its readers walk
    fuse_loops,        # one pass over shared operands (a loss and its gradient read X once)
    scalarize,         # per-iteration temporaries and 0-d accumulators live in registers
    store_shared_calls,  # a costly call two loops make: stored where the second one writes
    hoist_invariants,  # loop-invariant work once, before the loop
    reuse_temporaries,  # temporaries with disjoint lifetimes share storage
    block_rows,        # a chain of gemms and row loops runs on blocks of rows in the cache
    mark_parallel,     # outermost independent loops: threads (reductions get partials)
    mark_simd,         # innermost safe loops: vector lanes
    finish,            # verify, then hand to the printer
)
# Both targets run the same schedule, so the interpreter checks exactly what is compiled.
# CUDA keeps use_blas: its gemm call names a contraction the renderer tiles in shared
# memory; SIMD marks mean nothing inside a GPU thread, and its blocks are not the L2's.
PIPELINES = {"cpu": _SCHEDULE, "numpy": _SCHEDULE,
             "cuda": tuple(p for p in _SCHEDULE if p not in (mark_simd, block_rows))}


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
