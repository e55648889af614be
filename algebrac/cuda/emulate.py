"""A device that runs algebrac's CUDA kernels on the CPU (``emulate.h`` + the host C++ compiler).

The generated CUDA text compiles unchanged with ``g++ -include emulate.h``,
plus one ``extern "C"`` entry per kernel running it over a grid, called through
ctypes; device memory is host memory owned by NumPy arrays.  The tests check
every kernel against the reference backend with it on machines without a GPU;
it is slow (a coroutine per CUDA thread) and not a backend.

>>> import numpy as np, sympy as sp, algebrac as ac
>>> from algebrac.cuda.launch import use_device
>>> x = sp.Symbol("x")
>>> with use_device(EmulatedDevice()):
...     print(ac.compile(2 * x + 1, [x], backend="cuda")(np.arange(3.0)))
[1. 3. 5.]
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailable, CompileError
from .launch import INCLUDE
from .render import CudaSource

__all__ = ["EmulatedDevice", "build_emulator", "HEADER"]

HEADER = Path(__file__).resolve().parent / "emulate.h"
# Hidden and -Bsymbolic: every library binds its own kernels (two modules both define
# _ac_kernel_d_0; without these the second would call the first one's).
FLAGS = ("-std=c++17", "-O0", "-fPIC", "-shared", "-ffp-contract=off", "-w",
         "-fvisibility=hidden", "-Wl,-Bsymbolic")
_EXPORT = '__attribute__((visibility("default")))'



def _cxx() -> str:
    cxx = shutil.which(os.environ.get("CXX") or "g++") or shutil.which("c++")
    if cxx is None:
        raise BackendUnavailable("the CUDA emulator needs a C++ compiler (g++) on PATH")
    return cxx


def _wrappers(source: CudaSource) -> str:
    lines = []
    for prog in source.programs.values():
        decl = ", ".join(f"{c} {n}" for c, n, _ in prog.params)
        names = ", ".join(n for _, n, _ in prog.params)
        for lc in prog.launches:
            lines.append(f'extern "C" {_EXPORT} int _ac_emu_{lc.kernel}'
                         f"(unsigned _ac_g, unsigned _ac_b, int _ac_o, {decl}) {{ return "
                         f"ac_emu::launch(_ac_g, _ac_b, _ac_o, [=] {{ {lc.kernel}({names}); }}); }}")
    lines.append(f'extern "C" {_EXPORT} const char *_ac_emu_error(void) '
                 '{ return ac_emu::error; }')
    return "\n".join(lines) + "\n"


def build_emulator(source: CudaSource) -> Path:
    """The shared library running ``source`` on the CPU, from the compile cache or built."""
    from ..cpu import cache

    text = source.text + "\n" + _wrappers(source)
    cxx = _cxx()
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    h = hashlib.sha256()
    for part in (text, cxx, version, " ".join(FLAGS), HEADER.read_text(),
                 (INCLUDE / "algebrac_math.h").read_text()):
        h.update(part.encode())

    def build(folder: Path) -> None:
        src = folder / "kernel_emulated.cpp"
        src.write_text(text)
        cmd = [cxx, *FLAGS, "-include", str(HEADER), f"-I{INCLUDE}", "-o",
               str(folder / "emulate.so"), str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise CompileError("the host compiler rejected the CUDA code under emulate.h",
                               source_path=src, command=cmd, output=res.stdout + res.stderr)

    return cache.build_once(h.hexdigest(), "emulate.so", build, {"emulator": cxx})[0] / "emulate.so"


class _Memory:
    """Emulated device memory: a NumPy byte array that owns it."""

    def __init__(self, nbytes: int):
        self.array = np.zeros(max(int(nbytes), 1) + 64, np.uint8)
        self.ptr = (self.array.ctypes.data + 63) // 64 * 64   # 64-byte aligned, like cudaMalloc
        self.nbytes = int(nbytes)

    def view(self, dtype, shape):
        offset = self.ptr - self.array.ctypes.data
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return self.array[offset:offset + n].view(dtype).reshape(shape)


class EmulatedArray:
    """A result left "on the device" by the emulator: ``__cuda_array_interface__`` and ``get``."""

    def __init__(self, mem: _Memory, shape, dtype):
        self.mem, self.shape, self.dtype = mem, tuple(shape), np.dtype(dtype)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.mem.ptr, False),
                "strides": None, "version": 3}

    def get(self) -> np.ndarray:
        return self.mem.view(self.dtype, self.shape).copy()


class EmulatedDevice:
    """The device interface of :class:`~algebrac.cuda.launch.PyCudaDevice`, on the CPU.

    ``max_blocks`` bounds grids (small, so grid-stride loops and multi-block
    reductions are exercised); ``order=1`` runs a block's threads backwards.
    """

    name = "CPU emulator"

    def __init__(self, max_blocks: int = 3, order: int = 0):
        self.max_blocks, self.order = max_blocks, order
        self.launches: list = []   # (kernel, grid, threads) of every launch, for tests

    @contextlib.contextmanager
    def active(self):
        yield

    def load(self, source: CudaSource):
        return _load(str(build_emulator(source)))

    def alloc(self, nbytes: int) -> _Memory:
        return _Memory(nbytes)

    @staticmethod
    def ptr(mem) -> int:
        return mem.ptr

    def upload(self, array: np.ndarray) -> _Memory:
        array = np.ascontiguousarray(array)
        mem = _Memory(array.nbytes)
        mem.view(array.dtype, array.shape)[...] = array
        return mem

    def download(self, mem: _Memory, out: np.ndarray) -> None:
        out[...] = mem.view(out.dtype, out.shape)

    def launch(self, module, name, grid, threads, args) -> None:
        fn = getattr(module, "_ac_emu_" + name)
        cargs = [ctypes.c_void_p(v) if is_ptr else ctypes.c_longlong(v) for is_ptr, v in args]
        self.launches.append((name, grid, threads))
        if fn(ctypes.c_uint(grid), ctypes.c_uint(threads), ctypes.c_int(self.order), *cargs):
            raise RuntimeError(f"{name}: {module._ac_emu_error().decode()}")

    def wrap(self, mem, shape, dtype) -> EmulatedArray:
        return EmulatedArray(mem, shape, dtype)


@functools.lru_cache(maxsize=None)
def _load(path: str):
    lib = ctypes.CDLL(path)
    lib._ac_emu_error.restype = ctypes.c_char_p
    return lib
