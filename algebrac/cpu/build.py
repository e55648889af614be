"""Build a generated library with the C compiler, through the disk cache.

``load(source)`` returns the loaded library (:class:`algebrac.cpu.native.Library`).
Tiers: an in-process dict keyed by the cache key, then the disk cache
(:mod:`algebrac.cpu.cache`), then a build.  The C compiler runs as a subprocess,
one per C file in parallel, so its output can be shown in a ``CompileError``.
No Cython, no ``setup.py``, no ``chdir``.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.machinery
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from .. import config, progress
from ..errors import BackendUnavailable, CacheError, CompileError
from . import cache
from .native import Library
from .render import Source

__all__ = ["load", "toolchain_id", "CFLAGS", "compiler_available"]

CFLAGS = (
    "-O3", "-march=native", "-fPIC", "-fopenmp", "-fno-math-errno",
    # Evaluate as written, like NumPy: with -march=native gcc would contract
    # a - b*c into an FMA, so sqrt(R*R - x*x) at x == R gives NaN, not 0.
    "-ffp-contract=off",
    # The loop's remainder would otherwise run glibc's narrower (AVX2) vector
    # variants, whose asin/atan/erf/log1p/... raise "invalid" for a quiet NaN
    # (the AVX-512 and scalar ones do not, nor does NumPy): keep it scalar.
    "--param=vect-epilogues-nomask=0",
    # gcc fuses sin and cos of one argument into a scalar sincos call, which
    # keeps the loop off libmvec (DESIGN, speed facts).
    "-fno-builtin-sin", "-fno-builtin-cos", "-fno-builtin-sinf", "-fno-builtin-cosf",
    # The stable helpers of algebrac_math.h clamp each branch's argument (log1p(-exp(
    # x <= c ? x : c))); PRE and jump threading would fold the clamped path to a
    # constant and leave the unclamped call on every vector lane, raising spurious
    # divide/overflow flags.  Measured cost on the benchmark formulas: none.
    "-fno-tree-pre", "-fno-thread-jumps",
    "-Wno-unused-function", "-Wno-unused-variable",
)
HERE = Path(__file__).parent
_EXT = ".so"
_ABI = importlib.machinery.EXTENSION_SUFFIXES[0]  # libraries use Python's C API
_memo: dict = {}
_memo_lock = threading.Lock()
_key_locks: dict = {}
_loaded: dict = {}  # path -> Library: a library is loaded once per process
_warned: set = set()


@functools.lru_cache(maxsize=None)
def _compiler_version(cc: str) -> str:
    if shutil.which(cc) is None:
        raise BackendUnavailable(
            f"no C compiler: {cc!r} is not on PATH (set ALGEBRAC_CC or CC, or install gcc)"
        )
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as err:
        raise BackendUnavailable(f"the C compiler {cc!r} cannot run: {err}") from err
    if out.returncode != 0:
        raise BackendUnavailable(f"the C compiler {cc!r} failed: {out.stderr.strip()[:200]}")
    return out.stdout.splitlines()[0] if out.stdout else cc


def compiler_available() -> bool:
    """True when the C compiler answers ``--version``."""
    try:
        _compiler_version(config.c_compiler())
    except BackendUnavailable:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _host_cpu() -> str:
    # -march=native makes the binary specific to this CPU's features.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    import platform

    return platform.machine() + platform.processor()


def toolchain_id() -> str:
    """Everything besides the source text that decides what a build produces."""
    from .. import __version__

    cc = config.c_compiler()
    return "|".join([
        cc, _compiler_version(cc), " ".join(CFLAGS), "numpy " + np.__version__,
        sys.implementation.cache_tag, _ABI,
        "algebrac " + __version__, "cpu " + _host_cpu(),
        *(hashlib.sha256((HERE / h).read_bytes()).hexdigest()[:16]
          for h in ("algebrac_math.h", "algebrac_threads.h")),
    ])


def _key(source: Source) -> str:
    h = hashlib.sha256()
    h.update(source.text.encode())
    for name, text, flags in source.c_files:
        h.update(b"\0".join([b"", name.encode(), text.encode(), *map(str.encode, flags)]))
    h.update(repr((source.libraries, source.main_flags)).encode())
    h.update(toolchain_id().encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _package_digest() -> str:
    # Any edit to algebrac's code may change what a formula compiles to.
    h = hashlib.sha256()
    for path in sorted(HERE.parent.rglob("*")):
        if path.suffix in (".py", ".h", ".pyx") and path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def formula_key(*parts: str) -> str:
    """A disk-index key for a formula: its text parts, algebrac's code and the toolchain."""
    h = hashlib.sha256()
    for part in (*parts, _package_digest(), toolchain_id()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def load_indexed(fkey: str):
    """The module a formula key was recorded for, or ``None`` (never builds)."""
    if config.nocache():
        return None
    try:
        key = cache.index_lookup(fkey)
        if key is None:
            return None
        with _memo_lock:
            module = _memo.get(key)
        if module is not None:
            return module
        name = f"_ac_{key[:16]}"
        entry = cache.entry_dir(key)
        if not cache.is_valid(entry, key, name + _EXT):
            return None
    except (CacheError, OSError):
        return None
    start = time.perf_counter()
    module = _import(name, entry / (name + _EXT))
    config.log(1, f"{name}: cache hit in {time.perf_counter() - start:.3f}s")
    with _memo_lock:
        return _memo.setdefault(key, module)


def load(source: Source, fkey: str | None = None):
    """The imported module for ``source``, built at most once per cache.

    With ``fkey`` (see :func:`formula_key`) the formula is recorded in the
    cache's index so the next process can skip straight to the module.
    """
    key = _key(source)
    module = _load_source(source, key)
    if fkey is not None and not config.nocache():
        with contextlib.suppress(CacheError, OSError):  # an optimisation: the entry is in place
            cache.index_store(fkey, key)
    return module


def _load_source(source: Source, key: str):
    with _memo_lock:
        module = _memo.get(key)
        key_lock = _key_locks.setdefault(key, threading.Lock())
    # Threads asking for the same fresh kernel wait for one build and share it.
    with key_lock:
        with _memo_lock:
            module = module or _memo.get(key)
        return module if module is not None else _load_uncached(source, key)


def _load_uncached(source: Source, key: str):
    start = time.perf_counter()
    name = f"_ac_{key[:16]}"
    if config.nocache():
        module, how = _build_temporary(source, key, name), "built (ALGEBRAC_NOCACHE)"
    else:
        try:
            module, how = _load_cached(source, key, name)
        except (CacheError, OSError) as err:
            _warn_once(f"the compile cache is unusable ({err}); building in a temporary "
                       "directory instead")
            module, how = _build_temporary(source, key, name), "built (cache unusable)"
    config.log(1, f"{name}: {how} in {time.perf_counter() - start:.3f}s")
    config.log(4, f"{name} source:\n{source.listing}")
    with _memo_lock:
        return _memo.setdefault(key, module)


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def _load_cached(source: Source, key: str, name: str):
    entry, how = cache.build_once(key, name + _EXT, lambda d: _compile(source, name, d),
                                  {"module": name})
    return _import(name, entry / (name + _EXT)), how


def _build_temporary(source: Source, key: str, name: str):
    tmp = Path(tempfile.mkdtemp(prefix="algebrac-"))
    keep = False
    try:
        _compile(source, name, tmp)
        # Linux keeps a loaded library mapped after its file is deleted.
        return _import(name, tmp / (name + _EXT))
    except CompileError:
        keep = True  # the error's source_path points into tmp
        raise
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _import(name: str, path: Path) -> Library:
    with _memo_lock:
        if str(path) not in _loaded:
            _loaded[str(path)] = Library(path)
        return _loaded[str(path)]


def _compile(source: Source, name: str, build_dir: Path) -> None:
    cc = config.c_compiler()
    _compiler_version(cc)
    so = build_dir / f"{name}{_EXT}"
    includes = [f"-I{sysconfig.get_paths()['include']}", f"-I{np.get_include()}", f"-I{HERE}"]
    with progress.compiling(name) as bar, contextlib.ExitStack() as jobs:
        bar.phase(f"C compiler ({name})")
        # Every file compiles at once, in parallel with the others.
        objects = [_start(cc, build_dir / f"{name}_{stem}.c", text, [*includes, *flags], jobs)
                   for stem, text, flags in source.c_files]
        objects.append(_start(cc, build_dir / f"{name}.c", source.text,
                              [*includes, *source.main_flags], jobs))
        for job in objects:
            _finish(*job)
        cmd = [cc, "-shared", *CFLAGS, *[str(job[1]) for job in objects], "-o", str(so)]
        cmd += [f"-l{lib}" for lib in source.libraries]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(f"the C compiler failed to link (exit {proc.returncode})",
                               source_path=build_dir / f"{name}.c", command=cmd,
                               output=proc.stdout + proc.stderr)


def _start(cc, c_path: Path, text, flags, jobs):
    """Start compiling ``c_path`` (written from ``text``) to an object file; ``flags``
    come after CFLAGS (a later -O wins)."""
    c_path.write_text(text)
    obj = c_path.with_suffix(".o")
    cmd = [cc, "-c", *CFLAGS, *flags, str(c_path), "-o", str(obj)]
    log = jobs.enter_context(tempfile.TemporaryFile("w+"))
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    jobs.callback(lambda: proc.poll() is None and proc.kill())  # on an error elsewhere
    return proc, obj, cmd, log, c_path


def _finish(proc, obj, cmd, log, source_path) -> None:
    code = proc.wait()
    if code != 0:
        log.seek(0)
        raise CompileError(f"the C compiler failed (exit {code})", source_path=source_path,
                           command=cmd, output=log.read())
