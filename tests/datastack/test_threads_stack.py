"""Thread control that holds in every Python thread, threadpoolctl, and compiles that
leave the process's streams alone."""
from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

x, y = sp.symbols("x y")
BIG = np.linspace(0.0, 1.0, 2_000_000)  # far above every kernel's threading cutoff


@pytest.fixture(scope="module")
def uf():
    return ac.compile(sp.sin(x) * sp.exp(-x * y), [x, y])


def _os_threads() -> set:
    return set(os.listdir("/proc/self/task"))


def _threads_started_by_a_call_from_a_new_thread(uf) -> int:
    """libgomp gives each calling thread a team of its own, started at its first region."""
    def call():
        before = _os_threads()
        uf(BIG, 0.5)
        return len(_os_threads() - before)  # new ones (others may exit meanwhile)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def restore_threads():
    old = ac.get_num_threads()
    yield
    ac.set_num_threads(old)


def test_set_num_threads_bounds_calls_from_any_thread(uf, restore_threads):
    ac.set_num_threads(1)
    assert _threads_started_by_a_call_from_a_new_thread(uf) == 0
    if (os.cpu_count() or 1) >= 2:  # the control: the same call does use a team of 2
        ac.set_num_threads(2)
        assert _threads_started_by_a_call_from_a_new_thread(uf) == 1


def test_set_num_threads_bounds_tensor_programs_too(restore_threads):
    v = ac.vector("v", ac.dim("n"))
    norm2 = ac.function([v], ac.sum(v * v))  # a reduction: per-thread partials
    ac.set_num_threads(1)
    assert _threads_started_by_a_call_from_a_new_thread(lambda a, _: norm2(a)) == 0
    np.testing.assert_allclose(norm2(BIG), BIG @ BIG, rtol=1e-12)
    ac.set_num_threads(4)  # more threads than CPUs: the partials are sized to match
    np.testing.assert_allclose(norm2(BIG), BIG @ BIG, rtol=1e-12)


def test_threadpoolctl_lists_and_limits_algebrac(uf, restore_threads):
    from threadpoolctl import threadpool_info, threadpool_limits

    ac.set_num_threads(2)
    mine = [i for i in threadpool_info() if i["internal_api"] == "algebrac"]
    assert len(mine) == 1
    assert mine[0]["user_api"] == "openmp" and mine[0]["num_threads"] == 2
    assert mine[0]["version"] == ac.__version__
    with threadpool_limits(limits=1, user_api="openmp"):
        assert ac.get_num_threads() == 1
        assert _threads_started_by_a_call_from_a_new_thread(uf) == 0
    assert ac.get_num_threads() == 2


def test_a_compile_leaves_the_process_streams_alone(private_cache):
    """Another thread's prints must not vanish into a compile's log."""
    streams = (sys.stdout, sys.stderr)
    seen, done, errors = set(), threading.Event(), []

    def compile_fresh():
        try:
            ac.compile(sp.cos(x) * sp.Rational(3, 17) + y**3, [x, y])
        except Exception as err:  # re-raised below
            errors.append(err)
        finally:
            done.set()

    worker = threading.Thread(target=compile_fresh)
    worker.start()
    while not done.is_set():
        seen.add((sys.stdout, sys.stderr))
        time.sleep(0.0002)
    worker.join()
    assert not errors, errors
    assert list(private_cache.rglob("meta.json")), "a real build ran"
    assert seen == {streams}
