"""Calling compiled CUDA programs: arguments in, results out (``ac.compile``, ``ac.function``).

Host (NumPy) inputs are copied to the device and the results back; inputs
already on the device (anything with ``__cuda_array_interface__``: PyCUDA,
CuPy, PyTorch, Numba) are read in place and the results stay there.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..dtypes import DType
from ..errors import DTypeError, ShapeError, SignatureError
from . import launch
from .launch import DeviceOperand, check_device_dtype, element_strides, on_device

__all__ = ["call_elementwise", "call_tensor"]


class _Host:
    """A host array as an operand (same attributes as DeviceOperand)."""

    def __init__(self, array: np.ndarray, device, keep: list):
        self.array = np.ascontiguousarray(array)
        self.shape, self.ndim, self.dtype = self.array.shape, self.array.ndim, self.array.dtype
        self.strides = self.array.strides
        mem = device.upload(self.array)
        keep.append(mem)
        self.ptr = device.ptr(mem)


def _results(device, mems, shapes, dtypes, to_host: bool):
    if not to_host:
        return [device.wrap(m, s, d) for m, s, d in zip(mems, shapes, dtypes)]
    outs = []
    for m, s, d in zip(mems, shapes, dtypes):
        out = np.empty(s, d)
        device.download(m, out)
        outs.append(out)
    return outs


def call_elementwise(uf, source, inputs, kwargs):
    """Run an ``ac.compile(..., backend="cuda")`` formula; ufunc-style broadcasting."""
    from ..ufunc import _loop_dtype

    extra = set(kwargs) - {"dtype"}
    if extra:
        raise SignatureError(f"unsupported keyword(s) for the cuda backend: {sorted(extra)} "
                             "(results are new arrays; only dtype= is accepted)")
    device = launch.current_device()
    dev = [on_device(x) for x in inputs]
    host = [None if d else np.asarray(x) for d, x in zip(dev, inputs)]
    ops = [DeviceOperand(x) if d else None for d, x in zip(dev, inputs)]
    for h in host:
        if h is not None and h.dtype.kind not in "biuf":
            raise DTypeError(f"cannot compute with {h.dtype} input; algebrac computes in "
                             "float32 or float64")
    if kwargs.get("dtype") is not None:
        loop = DType.from_numpy(kwargs["dtype"])
    else:
        probes = [h if h is not None else np.empty(0, o.dtype) for h, o in zip(host, ops)]
        loop = _loop_dtype([x if not d else probes[k] for k, (x, d) in enumerate(zip(inputs, dev))],
                           probes)
    try:
        shape = np.broadcast_shapes(*[(h if h is not None else o).shape
                                      for h, o in zip(host, ops)])
    except ValueError as err:
        raise ShapeError(f"arguments do not broadcast together: {err}") from err
    n = math.prod(shape)
    program = source.programs[loop]
    item = loop.numpy.itemsize
    keep, operands = [], {}
    with device.active():
        module = device.load(source)
        for k, (h, o) in enumerate(zip(host, ops)):
            name = f"_ac_in{k}"
            if o is not None:
                check_device_dtype(o, loop.numpy, f"input {k}")
                if math.prod(o.shape) == 1:
                    operands[name] = (o.ptr, (0,))
                elif o.shape == shape and o.strides == tuple(
                        s * item for s in launch._c_strides(shape)):
                    operands[name] = (o.ptr, (1,))
                else:
                    raise ShapeError(f"input {k}: a device array must be C-contiguous with the "
                                     f"full shape {shape} (got shape {o.shape}) or have one "
                                     "element; broadcast or copy it on the device first")
                continue
            a = h.astype(loop.numpy, copy=False)
            if a.size == 1:
                operands[name] = (_Host(a.reshape(1), device, keep).ptr, (0,))
            else:
                operands[name] = (_Host(np.broadcast_to(a, shape), device, keep).ptr, (1,))
        mems = []
        for k in range(uf.nout):
            mem = device.alloc(n * item)
            mems.append(mem)
            operands[f"_ac_out{k}"] = (device.ptr(mem), (1,))
        launch.run(device, module, program, operands, {sp.Symbol("_ac_n", integer=True,
                                                                  nonnegative=True): n})
        outs = _results(device, mems, [shape] * uf.nout, [loop.numpy] * uf.nout,
                        to_host=not any(dev))
        del mems, keep   # device memory goes back while the context is current
    if not any(dev):
        outs = [o if o.ndim else o[()] for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)


def call_tensor(fn, source, args):
    """Run an ``ac.function(..., backend="cuda")`` program; leading axes batch the call."""
    from ..function import _name, _real_array

    device = launch.current_device()
    dev = [on_device(x) for x in args]
    descs = [DeviceOperand(x) if d else _real_array(t, x) for t, x, d in zip(fn.inputs, args, dev)]
    loop, wants = fn._dtypes(args, descs)
    for t, a, d, want in zip(fn.inputs, descs, dev, wants):
        if d:
            check_device_dtype(a, want, _name(t))
    dims, batch = fn._bind(descs)
    program = source.programs[loop]
    prog = fn._program
    keep, ops = [], []
    with device.active():
        module = device.load(source)
        for a, d, want in zip(descs, dev, wants):
            ops.append(a if d else _Host(a.astype(want, copy=False), device, keep))
        cores = [o.shape[o.ndim - len(p.shape):] if p.shape else () for o, p in
                 zip(ops, prog.params)]
        strides = [element_strides(o, batch + c, f"input {k}")
                   for k, (o, c) in enumerate(zip(ops, cores))]
        mems, shapes, dtypes, ostrides = [], [], [], []
        for core, dtype in fn._outputs(dims, loop):
            full = batch + core
            mems.append(device.alloc(math.prod(full) * dtype.itemsize))
            shapes.append(full)
            dtypes.append(dtype)
            ostrides.append(launch._c_strides(full))
        nb = len(batch)
        sizes = {s: int(dims[d]) for s, d in zip(prog.sizes, prog.dims)}
        for idx in np.ndindex(*batch):
            operands = {}
            for o, p, st in zip(ops, prog.params, strides):
                off = sum(i * s for i, s in zip(idx, st[:nb]))
                operands[p.buffer] = (o.ptr + off * o.dtype.itemsize, st[nb:])
            for m, p, st, dt in zip(mems, prog.outputs, ostrides, dtypes):
                off = sum(i * s for i, s in zip(idx, st[:nb]))
                operands[p.buffer] = (device.ptr(m) + off * dt.itemsize, st[nb:])
            launch.run(device, module, program, operands, sizes)
        outs = _results(device, mems, shapes, dtypes, to_host=not any(dev))
        del mems, keep, ops   # device memory goes back while the context is current
    return outs[0] if fn._single else tuple(outs)
