"""Shared test setup (root conftest: it also covers notebooks/ and doctests).

Every test session compiles into a fresh temporary cache (never the user's
warm one, which would hide cold-compile costs); notebooks executed by nbmake
inherit it through the environment.  ``ALGEBRAC_CHECK=1`` verifies the IR
between passes.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

_SESSION_CACHE = tempfile.mkdtemp(prefix="algebrac-test-cache-")
os.environ["ALGEBRAC_CACHE_DIR"] = _SESSION_CACHE
os.environ["ALGEBRAC_CHECK"] = "1"
os.environ.setdefault("ALGEBRAC_PROGRESS", "0")
os.environ.pop("ALGEBRAC_NOCACHE", None)


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache directory of this test's own (for cache behaviour tests)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ALGEBRAC_CACHE_DIR", str(path))
    return path


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
