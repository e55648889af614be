"""A stand-in for PyCUDA backed by the CPU emulator, to test algebrac's PyCUDA glue.

It checks what a real driver would punish: every driver call happens while a
context is pushed, pushes and pops balance, kernel arguments are NumPy scalars
of the right width, launches name a kernel of the loaded module.  Kernels run on
:class:`~algebrac.cuda.emulate.EmulatedDevice` from the source the "cubin" names.
"""
from __future__ import annotations

import sys
import types

import numpy as np

from algebrac.cuda.emulate import EmulatedDevice


def install(monkeypatch, *, count=1, init_error=None):
    emu = EmulatedDevice(max_blocks=3)
    state = {"depth": 0, "launches": 0, "sources": {}}

    def pushed():
        assert state["depth"] > 0, "a driver call outside a pushed context"

    class Error(Exception):
        pass

    class Ctx:
        def push(self):
            state["depth"] += 1

    class Context:
        @staticmethod
        def pop():
            assert state["depth"] > 0, "pop without push"
            state["depth"] -= 1

        @staticmethod
        def synchronize():
            pushed()

    class Device:
        def __init__(self, ordinal):
            assert 0 <= ordinal < count

        @staticmethod
        def count():
            return count

        def retain_primary_context(self):
            return Ctx()

        def get_attribute(self, a):
            return {"sms": 1, "threads": 768}[a]

        def compute_capability(self):
            return (8, 0)

        def name(self):
            return "fake GPU"

    class Alloc:
        def __init__(self, mem):
            self.mem = mem

        def __int__(self):
            return self.mem.ptr

    class Function:
        def __init__(self, lib, name):
            self.lib, self.name = lib, name

        def __call__(self, *args, block, grid):
            pushed()
            assert all(type(a) in (np.uint64, np.int64) for a in args), args
            assert block[1:] == (1, 1) and grid[1:] == (1,)
            state["launches"] += 1
            emu.launch(self.lib, self.name, grid[0], block[0],
                       [(type(a) is np.uint64, int(a)) for a in args])

    class Module:
        def __init__(self, lib):
            self.lib = lib

        def get_function(self, name):
            assert hasattr(self.lib, "_ac_emu_" + name), name
            return Function(self.lib, name)

    def init():
        if init_error:
            raise Error(init_error)

    def mem_alloc(n):
        pushed()
        return Alloc(emu.alloc(n))

    def memcpy_htod(dst, src):
        pushed()
        dst.mem.view(src.dtype, src.shape)[...] = src

    def memcpy_dtoh(dst, src):
        pushed()
        dst[...] = src.mem.view(dst.dtype, dst.shape)

    def module_from_buffer(data):
        pushed()
        return Module(emu.load(state["sources"][data]))

    class GPUArray:
        def __init__(self, shape, dtype, gpudata):
            self.shape, self.dtype, self.gpudata = tuple(shape), np.dtype(dtype), gpudata

        @property
        def __cuda_array_interface__(self):
            return {"shape": self.shape, "typestr": self.dtype.str, "strides": None,
                    "data": (int(self.gpudata), False), "version": 3}

        def get(self):
            out = np.empty(self.shape, self.dtype)
            memcpy_dtoh(out, self.gpudata)
            return out

    drv = types.ModuleType("pycuda.driver")
    drv.__dict__.update(Error=Error, Context=Context, Device=Device, init=init,
                        mem_alloc=mem_alloc, memcpy_htod=memcpy_htod, memcpy_dtoh=memcpy_dtoh,
                        module_from_buffer=module_from_buffer,
                        device_attribute=types.SimpleNamespace(
                            MULTIPROCESSOR_COUNT="sms", MAX_THREADS_PER_MULTIPROCESSOR="threads"))
    class DeviceMemoryPool:
        def __init__(self):
            pushed()

        def allocate(self, n):
            return mem_alloc(n)

    gpuarray = types.ModuleType("pycuda.gpuarray")
    gpuarray.GPUArray = GPUArray
    tools = types.ModuleType("pycuda.tools")
    tools.DeviceMemoryPool = DeviceMemoryPool
    pkg = types.ModuleType("pycuda")
    pkg.driver, pkg.gpuarray, pkg.tools = drv, gpuarray, tools
    for name, mod in (("pycuda", pkg), ("pycuda.driver", drv), ("pycuda.gpuarray", gpuarray),
                      ("pycuda.tools", tools)):
        monkeypatch.setitem(sys.modules, name, mod)

    from algebrac.cuda import launch, render

    real_render = render.render_cuda

    def render_and_remember(kernels):
        src = real_render(kernels)
        state["sources"][src.text.encode()] = src
        return src

    monkeypatch.setattr(render, "render_cuda", render_and_remember)
    monkeypatch.setattr(launch, "build_cubin", lambda text, arch: text.encode())
    monkeypatch.setattr(launch, "nvcc", lambda: "nvcc")
    launch._default_device.cache_clear()
    return state, GPUArray
