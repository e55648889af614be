"""Compile, load and launch CUDA programs through PyCUDA (or a stand-in device).

PyCUDA is imported lazily, never through ``pycuda.autoinit``: the device's
primary context is pushed around every call, so algebrac shares the GPU with
CuPy, PyTorch or JAX.  Kernels compile to a cubin with ``nvcc`` when found,
else NVRTC (``cuda-bindings``; neither needs a GPU), with ``--fmad=false``
(evaluate as written, like NumPy), cached per user under a key of source,
options, architecture and compiler version.  A *device* is anything with
:class:`PyCudaDevice`'s small interface; :func:`use_device` selects one for a
block of code, e.g. :class:`algebrac.cuda.emulate.EmulatedDevice`, which runs
the same kernels on the CPU (the tests run the whole call path so).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp

from ..errors import BackendUnavailable, CompileError, DTypeError
from ..lower.ir import Role
from .render import BLOCK, CudaSource, Program
from .rows import LANES

__all__ = ["PyCudaDevice", "current_device", "use_device", "nvcc", "nvrtc", "compilers",
           "compiler", "build_cubin", "check_ptx", "run", "INSTALL_HINT"]

INCLUDE = Path(__file__).resolve().parent.parent / "cpu"
OPTIONS = ("--fmad=false", "-std=c++17")
PARTIAL_CAP = 1 << 24   # elements of reduction partials per launch (128 MB in float64)
NVRTC_HINT = "pip install cuda-bindings nvidia-cuda-nvrtc"
INSTALL_HINT = ('pip install "algebrac[cuda]" (PyCUDA), with an NVIDIA driver and a CUDA '
                f"compiler: the toolkit's nvcc on PATH, or NVRTC ({NVRTC_HINT})")
_override: list = []


# -- toolchain -----------------------------------------------------------------------------
def nvcc() -> str:
    """The nvcc executable (``$ALGEBRAC_NVCC``, PATH, ``$CUDA_HOME/bin``), or BackendUnavailable."""
    for cand in (os.environ.get("ALGEBRAC_NVCC"), shutil.which("nvcc"),
                 os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise BackendUnavailable("backend='cuda' compiles kernels with nvcc, which was not found: "
                             "install the CUDA toolkit, put nvcc on PATH or set ALGEBRAC_NVCC")


@functools.lru_cache(maxsize=1)
def nvrtc():
    """``(cuda.bindings.nvrtc, version text)``, or BackendUnavailable when NVRTC cannot load."""
    try:
        from cuda.bindings import nvrtc as lib

        err, major, minor = lib.nvrtcVersion()
    except Exception as err:   # not installed, or cuda-pathfinder found no libnvrtc
        raise BackendUnavailable(f"NVRTC is not usable ({type(err).__name__}: {err}): "
                                 f"{NVRTC_HINT}") from err
    if err != lib.nvrtcResult.NVRTC_SUCCESS:
        raise BackendUnavailable(f"NVRTC is not usable ({err}): {NVRTC_HINT}")
    return lib, f"nvrtc {major}.{minor}"


def compilers() -> list:
    """The CUDA compilers found, in the order algebrac prefers them (``nvcc``, ``nvrtc``).

    >>> set(compilers()) <= {"nvcc", "nvrtc"}
    True
    """
    found = []
    for name, probe in (("nvcc", nvcc), ("nvrtc", nvrtc)):
        try:
            probe()
        except BackendUnavailable:
            continue
        found.append(name)
    return found


def compiler() -> str:
    """The CUDA compiler kernels are built with: ``nvcc`` when found, else ``nvrtc``."""
    found = compilers()
    if not found:
        raise BackendUnavailable("backend='cuda' needs a CUDA compiler and found none: install "
                                 f"the CUDA toolkit and put nvcc on PATH, or {NVRTC_HINT}")
    return found[0]


@functools.lru_cache(maxsize=None)
def nvcc_version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else path


def _version(using: str) -> str:
    return nvcc_version(nvcc()) if using == "nvcc" else nvrtc()[1]


def _nvrtc_compile(text: str, arch: str, cubin: bool) -> bytes:
    """PTX (or, with ``cubin``, the cubin) of ``text`` for ``arch`` through NVRTC, in process."""
    lib, _ = nvrtc()
    ok = lib.nvrtcResult.NVRTC_SUCCESS
    opts = [f"--gpu-architecture={arch}", *OPTIONS, f"--include-path={INCLUDE}"]
    err, prog = lib.nvrtcCreateProgram(text.encode(), b"kernel.cu", 0, [], [])
    if err != ok:
        raise CompileError(f"NVRTC could not take the source ({err})", command=["nvrtc", *opts])
    try:
        (err,) = lib.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        if err != ok:
            _, n = lib.nvrtcGetProgramLogSize(prog)
            log = b" " * n
            lib.nvrtcGetProgramLog(prog, log)
            raise CompileError("NVRTC rejected the generated CUDA code", command=["nvrtc", *opts],
                               output=log.rstrip(b"\0 ").decode(errors="replace"))
        size, get = ((lib.nvrtcGetCUBINSize, lib.nvrtcGetCUBIN) if cubin else
                     (lib.nvrtcGetPTXSize, lib.nvrtcGetPTX))
        _, n = size(prog)
        out = b" " * n
        get(prog, out)
        return out if cubin else out.rstrip(b"\0")
    finally:
        lib.nvrtcDestroyProgram(prog)


def _nvcc_start(text: str, out_flag: str, arch: str, workdir: Path):
    """Start nvcc on ``text`` in ``workdir``: ``(process, source, output path, command)``."""
    src, out = workdir / "kernel.cu", workdir / f"kernel.{out_flag.strip('-')}"
    src.write_text(text)
    cmd = [nvcc(), out_flag, f"-arch={arch}", *OPTIONS, f"-I{INCLUDE}", "-o", str(out), str(src)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), \
        src, out, cmd


def _nvcc_wait(proc, src, out, cmd) -> Path:
    stdout, stderr = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise CompileError("nvcc rejected the generated CUDA code", source_path=src, command=cmd,
                           output=stdout + stderr)
    return out


def check_ptx(text: str, archs=("sm_80", "sm_90"), using: str | None = None) -> dict:
    """Compile CUDA source to PTX for each architecture; ``{arch: ptx}``.

    ``using`` is ``"nvcc"`` (the architectures concurrently), ``"nvrtc"`` or
    ``None`` for :func:`compiler`'s choice.  A rejected source raises
    CompileError with the compiler's output.
    """
    using = using or compiler()
    if using == "nvrtc":
        return {arch: _nvrtc_compile(text, arch, cubin=False).decode() for arch in archs}
    with tempfile.TemporaryDirectory(prefix="algebrac-ptx-") as tmp:
        jobs = []   # the architectures compile concurrently
        for arch in archs:
            (Path(tmp) / arch).mkdir()
            jobs.append((arch, _nvcc_start(text, "--ptx", arch, Path(tmp) / arch)))
        return {arch: _nvcc_wait(*job).read_text() for arch, job in jobs}


def build_cubin(text: str, arch: str, using: str | None = None) -> bytes:
    """The cubin for ``text`` on ``arch``, from the per-user cache or compiled into it
    (by ``using``, default :func:`compiler`'s choice)."""
    from ..cpu import cache

    using = using or compiler()
    h = hashlib.sha256()
    for part in (text, " ".join(OPTIONS), arch, using, _version(using),
                 (INCLUDE / "algebrac_math.h").read_text()):
        h.update(part.encode())

    def build(folder: Path) -> None:
        if using == "nvrtc":
            (folder / "kernel.cu").write_text(text)
            (folder / "kernel.cubin").write_bytes(_nvrtc_compile(text, arch, True))
        else:
            _nvcc_wait(*_nvcc_start(text, "--cubin", arch, folder))

    entry, _ = cache.build_once(h.hexdigest(), "kernel.cubin", build,
                                {"arch": arch, "compiler": _version(using)})
    return (entry / "kernel.cubin").read_bytes()


# -- devices ---------------------------------------------------------------------------------
class PyCudaDevice:
    """One GPU through PyCUDA, its primary context pushed only while algebrac runs."""

    def __init__(self, ordinal: int = 0):
        try:
            import pycuda.driver as drv
        except ImportError as err:
            if importlib.util.find_spec("pycuda") is None:
                raise BackendUnavailable(f"backend='cuda' needs PyCUDA, which is not installed: "
                                         f"{INSTALL_HINT}") from err
            # Installed, but its extension cannot load: on a machine without an NVIDIA
            # driver, the libcuda.so.1 it links to is missing.
            raise BackendUnavailable(
                f"backend='cuda': PyCUDA is installed but does not load ({err}); it needs the "
                "NVIDIA driver (libcuda.so.1), so this machine has no usable NVIDIA GPU driver: "
                "install the driver on a machine with an NVIDIA GPU, or use backend='cpu'") from err
        try:
            drv.init()
            count = drv.Device.count()
        except Exception as err:  # pycuda.driver.Error: no driver or no device
            raise BackendUnavailable(f"backend='cuda' found no usable NVIDIA driver ({err}); "
                                     f"it needs an NVIDIA GPU: {INSTALL_HINT}") from err
        if count <= ordinal:
            raise BackendUnavailable(f"backend='cuda' found {count} CUDA device(s), none with "
                                     f"ordinal {ordinal}")
        compiler()
        self.drv = drv
        self.device = drv.Device(ordinal)
        self.context = self.device.retain_primary_context()
        a = drv.device_attribute
        sms = self.device.get_attribute(a.MULTIPROCESSOR_COUNT)
        per_sm = max(1, self.device.get_attribute(a.MAX_THREADS_PER_MULTIPROCESSOR) // BLOCK)
        self.max_blocks = sms * per_sm * 4   # a few waves; grid-stride loops cover the rest
        major, minor = self.device.compute_capability()
        self.arch = f"sm_{major}{minor}"
        self.name = self.device.name()
        self.modules: dict = {}
        self.pool = None   # PyCUDA's memory pool: outputs and scratch without cudaMalloc

    @contextlib.contextmanager
    def active(self):
        self.context.push()
        try:
            yield
        finally:
            self.drv.Context.pop()

    def load(self, source: CudaSource):
        key = hashlib.sha256(source.text.encode()).hexdigest()
        if key not in self.modules:
            self.modules[key] = self.drv.module_from_buffer(build_cubin(source.text, self.arch))
        return self.modules[key]

    def alloc(self, nbytes: int):
        if self.pool is None:
            from pycuda.tools import DeviceMemoryPool

            self.pool = DeviceMemoryPool()
        return self.pool.allocate(max(int(nbytes), 1))

    @staticmethod
    def ptr(mem) -> int:
        return int(mem)

    def upload(self, array: np.ndarray):
        array = np.ascontiguousarray(array)
        mem = self.alloc(array.nbytes)
        if array.nbytes:
            self.drv.memcpy_htod(mem, array)
        return mem

    def download(self, mem, out: np.ndarray) -> None:
        if out.nbytes:
            self.drv.memcpy_dtoh(out, mem)

    def launch(self, module, name, grid, threads, args) -> None:
        fn = module.get_function(name)
        fn(*[np.uint64(v) if is_ptr else np.int64(v) for is_ptr, v in args],
           block=(threads, 1, 1), grid=(grid, 1))

    def wrap(self, mem, shape, dtype):
        from pycuda import gpuarray

        return gpuarray.GPUArray(shape, dtype, gpudata=mem)


@functools.lru_cache(maxsize=1)
def _default_device():
    return PyCudaDevice(0)


def current_device():
    """The device ``backend='cuda'`` runs on (BackendUnavailable without PyCUDA or a GPU)."""
    return _override[-1] if _override else _default_device()


@contextlib.contextmanager
def use_device(device):
    """Run ``backend='cuda'`` work on ``device`` inside the block (e.g. the CPU emulator)."""
    _override.append(device)
    try:
        yield device
    finally:
        _override.pop()


# -- running a program ---------------------------------------------------------------------
def _int(expr, sizes) -> int:
    return int(sp.sympify(expr).xreplace(sizes))


def _blocks(extent: int, device) -> int:
    return max(1, min(-(-extent // BLOCK), device.max_blocks))


def run(device, module, program: Program, operands: dict, sizes: dict) -> None:
    """Launch ``program``: ``operands`` maps each input/output buffer name to
    ``(pointer, element strides)``; ``sizes`` binds the size symbols."""
    keep, values = [], {}
    for b in program.buffers:
        if b.role is Role.TEMP:
            n = math.prod(_int(d, sizes) for d in b.shape)
            mem = device.alloc(max(n, 1) * b.dtype.numpy.itemsize)
            keep.append(mem)
            values[b.name] = device.ptr(mem)
    item = program.dtype.numpy.itemsize
    scalars = device.alloc(max(program.slots, 1) * item)
    plan, need, workers, lanes = [], 1, 0, 1
    for lc in program.launches:
        extent = _int(lc.extent, sizes)
        threads = BLOCK
        if lc.kind != "combine":    # a combine folds with its reduce's layout
            lanes = LANES if lc.kind in ("grid", "reduce") and _int(lc.row, sizes) >= LANES \
                else 1              # a warp per row of 32 or more (row 0: cannot)
        if lc.kind == "serial":
            grid, threads = 1, 1
        elif lc.kind in ("gemm", "combine"):   # a block per tile or per target element
            grid = max(1, min(extent, device.max_blocks))
        elif lc.kind == "reduce":
            per = max(_int(lc.partial, sizes), 1)
            grid = max(1, min(_blocks(extent * lanes, device), PARTIAL_CAP // (BLOCK * per)))
            workers = grid * BLOCK
            need = max(need, per * workers)
        else:
            grid = _blocks(extent * lanes, device)
        plan.append((lc.kernel, grid, threads, workers, lanes))
    partials = device.alloc(need * item)
    for name, grid, threads, workers, lanes in plan:
        args = []
        for _, _, what in program.params:
            if what == "scalars":
                args.append((True, device.ptr(scalars)))
            elif what == "partials":
                args.append((True, device.ptr(partials)))
            elif what == "workers":
                args.append((False, workers))
            elif what == "lanes":
                args.append((False, lanes))
            elif isinstance(what, tuple):     # (buffer, axis): a stride
                args.append((False, operands[what[0].name][1][what[1]]))
            elif isinstance(what, sp.Symbol):
                args.append((False, sizes[what]))
            elif what.role is Role.TEMP:
                args.append((True, values[what.name]))
            else:
                args.append((True, operands[what.name][0]))
        device.launch(module, name, grid, threads, args)
    del keep


# -- arguments -------------------------------------------------------------------------------
class DeviceOperand:
    """An array already on the device, described by ``__cuda_array_interface__``."""

    def __init__(self, obj):
        cai = obj.__cuda_array_interface__
        self.obj = obj
        self.shape = tuple(int(s) for s in cai["shape"])
        self.ndim = len(self.shape)
        self.dtype = np.dtype(cai["typestr"])
        self.ptr = int(cai["data"][0] or 0)
        strides = cai.get("strides")
        if strides is None:
            strides = tuple(int(s) * self.dtype.itemsize for s in _c_strides(self.shape))
        self.strides = tuple(int(s) for s in strides)


def _c_strides(shape) -> tuple:
    return tuple(math.prod(shape[k + 1:]) for k in range(len(shape)))


def on_device(x) -> bool:
    return hasattr(x, "__cuda_array_interface__") and not isinstance(x, np.ndarray)


def element_strides(op, full_shape, what: str) -> tuple:
    """Element strides of ``op`` broadcast (right-aligned) to ``full_shape``."""
    pad = len(full_shape) - len(op.shape)
    out = []
    for a, d in enumerate(full_shape):
        k = a - pad
        if k < 0 or (op.shape[k] == 1 and d != 1):
            out.append(0)
            continue
        s = op.strides[k]
        if s % op.dtype.itemsize:
            raise DTypeError(f"{what}: its strides {op.strides} are not whole elements; pass an "
                             "aligned array")
        out.append(s // op.dtype.itemsize)
    return tuple(out)


def check_device_dtype(op, want: np.dtype, what: str) -> None:
    if op.dtype != want:
        raise DTypeError(f"{what}: the device array has dtype {op.dtype}, this call computes in "
                         f"{want}; cast it on the device first (device arrays are not copied)")

