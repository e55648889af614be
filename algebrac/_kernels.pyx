# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Runtime helpers compiled once at install time and shared by generated modules.

* thread control for the OpenMP loops of compiled kernels (one libgomp per
  process, so these settings apply to every generated module);
* ``flush_to_zero()``: whether the calling thread flushes subnormals to zero,
  which a library built with ``-ffast-math`` would switch on behind the user's
  back (algebrac never does; the test suite checks it).
"""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int _ac_max_threads(void) { return omp_get_max_threads(); }
    static void _ac_set_threads(int n) { omp_set_num_threads(n); }
    static int _ac_has_openmp(void) { return 1; }
    #else
    static int _ac_max_threads(void) { return 1; }
    static void _ac_set_threads(int n) { (void)n; }
    static int _ac_has_openmp(void) { return 0; }
    #endif
    #if defined(__x86_64__) || defined(_M_X64)
    #include <xmmintrin.h>
    /* MXCSR bit 15 is flush-to-zero, bit 6 denormals-are-zero. */
    static int _ac_ftz(void) { return (_mm_getcsr() & 0x8040) != 0; }
    #else
    static int _ac_ftz(void) { return 0; }
    #endif
    """
    int _ac_max_threads() nogil
    void _ac_set_threads(int n) nogil
    int _ac_has_openmp() nogil
    int _ac_ftz() nogil


def get_num_threads():
    """The number of threads compiled kernels use for large inputs.

    >>> from algebrac import _kernels
    >>> _kernels.get_num_threads() >= 1
    True
    """
    return _ac_max_threads()


def set_num_threads(int n):
    """Use ``n`` threads (``n >= 1``) in compiled kernels from now on.

    >>> from algebrac import _kernels
    >>> old = _kernels.get_num_threads(); _kernels.set_num_threads(1)
    >>> _kernels.get_num_threads()
    1
    >>> _kernels.set_num_threads(old)
    """
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    _ac_set_threads(n)


def has_openmp():
    """True when the runtime was built with OpenMP."""
    return bool(_ac_has_openmp())


def flush_to_zero():
    """True when this thread's floating-point unit flushes subnormals to zero."""
    return bool(_ac_ftz())
