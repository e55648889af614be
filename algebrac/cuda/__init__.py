"""The CUDA backend: loop IR → CUDA C (render), PyCUDA loading and launching (launch, call),
and a CPU emulator of the same kernels for machines without a GPU (emulate)."""
