# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Runtime helpers compiled once at install time and shared by generated modules.

* thread control for the OpenMP loops of compiled kernels: one process-wide
  setting that every generated module reads at each parallel region (through
  the capsule ``_threads_capsule``, see ``cpu/algebrac_threads.h``), so it
  holds whichever Python thread calls; ``omp_set_num_threads`` would only set
  the calling thread's limit.  The C functions ``algebrac_get_num_threads`` /
  ``algebrac_set_num_threads`` are exported for threadpoolctl
  (:mod:`algebrac.threads`);
* holding SciPy's BLAS to one thread while a kernel splits its gemm calls over
  its own threads (capsule ``_blas_hold_capsule``): one process-wide count of
  holders, so the BLAS's own setting comes back when the last hold ends;
* ``flush_to_zero()``: whether the calling thread flushes subnormals to zero,
  which a library built with ``-ffast-math`` would switch on behind the user's
  back (algebrac never does; the test suite checks it).
"""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int _ac_has_openmp(void) { return 1; }
    static int _ac_default_threads(void) { return omp_get_max_threads(); }
    #else
    static int _ac_has_openmp(void) { return 0; }
    static int _ac_default_threads(void) { return 1; }
    #endif
    /* The process-wide thread count of compiled kernels.  Kernels read it with a
       relaxed atomic load when they open a parallel region. */
    static int _ac_threads_setting = 1;
    __attribute__((visibility("default"))) int algebrac_get_num_threads(void)
    { return __atomic_load_n(&_ac_threads_setting, __ATOMIC_RELAXED); }
    __attribute__((visibility("default"))) void algebrac_set_num_threads(int n)
    { __atomic_store_n(&_ac_threads_setting, n > 0 ? n : 1, __ATOMIC_RELAXED); }
    static void *_ac_threads_address(void) { return (void *)&_ac_threads_setting; }

    /* Holding SciPy's BLAS to one thread while a kernel splits a gemm over its own
       OpenMP threads.  Two pools on the same cores fight: libgomp's workers spin for
       a while after each parallel region, exactly when OpenBLAS's threads want the
       cores (MLP forward+backward on 2 cores: 35 ms with both pools, 17 ms with
       libgomp spinning less).  The BLAS's own thread count is process-wide, so one
       counter of holders here (every generated module binds to it) saves it when the
       first hold starts and restores it when the last ends. */
    #include <dlfcn.h>
    #include <pthread.h>
    typedef void (*_ac_blas_set_t)(int);
    typedef int (*_ac_blas_get_t)(void);
    static pthread_mutex_t _ac_blas_lock = PTHREAD_MUTEX_INITIALIZER;
    static _ac_blas_set_t _ac_blas_set = NULL;
    static _ac_blas_get_t _ac_blas_get = NULL;
    static int _ac_blas_looked = 0, _ac_blas_holders = 0, _ac_blas_saved = 1;
    static long _ac_blas_holds = 0;   /* holds so far (a test's evidence of the split) */
    /* The thread-count functions of the library that defines `gemm` (OpenBLAS as
       SciPy and NumPy wheels ship it, with or without a symbol prefix). */
    static void _ac_blas_find(void *gemm)
    {
        static const char *prefixes[] = {"scipy_openblas_", "openblas_", "scipy_openblas64_"};
        static const char *suffixes[] = {"", "64_"};
        char set[64], get[64];
        Dl_info info;
        void *lib = gemm && dladdr(gemm, &info) && info.dli_fname
                    ? dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD) : NULL;
        if (lib == NULL) return;
        for (int p = 0; p < 3 && _ac_blas_set == NULL; p++)
            for (int q = 0; q < 2 && _ac_blas_set == NULL; q++) {
                snprintf(set, sizeof set, "%sset_num_threads%s", prefixes[p], suffixes[q]);
                snprintf(get, sizeof get, "%sget_num_threads%s", prefixes[p], suffixes[q]);
                void *s = dlsym(lib, set), *g = dlsym(lib, get);
                if (s && g) { _ac_blas_set = (_ac_blas_set_t)s; _ac_blas_get = (_ac_blas_get_t)g; }
            }
    }
    /* 1 when the BLAS that defines `gemm` now runs on the calling thread only (call
       _ac_blas_release after the calls); 0 when its thread count cannot be held. */
    static int _ac_blas_hold(void *gemm)
    {
        int ok;
        pthread_mutex_lock(&_ac_blas_lock);
        if (!_ac_blas_looked) { _ac_blas_find(gemm); _ac_blas_looked = 1; }
        ok = _ac_blas_set != NULL;
        __atomic_add_fetch(&_ac_blas_holds, ok, __ATOMIC_RELAXED);
        if (ok && _ac_blas_holders++ == 0) {
            _ac_blas_saved = _ac_blas_get();
            if (_ac_blas_saved != 1) _ac_blas_set(1);
        }
        pthread_mutex_unlock(&_ac_blas_lock);
        return ok;
    }
    static void _ac_blas_release(void)
    {
        pthread_mutex_lock(&_ac_blas_lock);
        if (--_ac_blas_holders == 0 && _ac_blas_saved != 1) _ac_blas_set(_ac_blas_saved);
        pthread_mutex_unlock(&_ac_blas_lock);
    }
    typedef struct { int (*hold)(void *); void (*release)(void); } _ac_blas_hold_t;
    static _ac_blas_hold_t _ac_blas_holder = {_ac_blas_hold, _ac_blas_release};
    static void *_ac_blas_holder_address(void) { return (void *)&_ac_blas_holder; }
    static long _ac_blas_hold_count(void) { return __atomic_load_n(&_ac_blas_holds, __ATOMIC_RELAXED); }
    #if defined(__x86_64__) || defined(_M_X64)
    #include <xmmintrin.h>
    /* MXCSR bit 15 is flush-to-zero, bit 6 denormals-are-zero. */
    static int _ac_ftz(void) { return (_mm_getcsr() & 0x8040) != 0; }
    #else
    static int _ac_ftz(void) { return 0; }
    #endif
    """
    int _ac_has_openmp() nogil
    int _ac_default_threads() nogil
    int algebrac_get_num_threads() nogil
    void algebrac_set_num_threads(int n) nogil
    void *_ac_threads_address() nogil
    void *_ac_blas_holder_address() nogil
    long _ac_blas_hold_count() nogil
    int _ac_ftz() nogil


from cpython.pycapsule cimport PyCapsule_New

# Starts as OpenMP's default for this process (OMP_NUM_THREADS, else the CPUs).
algebrac_set_num_threads(_ac_default_threads())
_threads_capsule = PyCapsule_New(_ac_threads_address(), b"algebrac._kernels.threads", NULL)
_blas_hold_capsule = PyCapsule_New(_ac_blas_holder_address(), b"algebrac._kernels.blas_hold",
                                   NULL)


def blas_holds():
    """How many gemm calls so far ran split with the BLAS held to one thread."""
    return _ac_blas_hold_count()


def get_num_threads():
    """The number of threads compiled kernels use for large inputs.

    >>> from algebrac import _kernels
    >>> _kernels.get_num_threads() >= 1
    True
    """
    return algebrac_get_num_threads()


def set_num_threads(int n):
    """Use ``n`` threads (``n >= 1``) in every compiled kernel from now on, whichever
    Python thread calls it.

    >>> from algebrac import _kernels
    >>> old = _kernels.get_num_threads(); _kernels.set_num_threads(1)
    >>> _kernels.get_num_threads()
    1
    >>> _kernels.set_num_threads(old)
    """
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    algebrac_set_num_threads(n)


def has_openmp():
    """True when the runtime was built with OpenMP."""
    return bool(_ac_has_openmp())


def flush_to_zero():
    """True when this thread's floating-point unit flushes subnormals to zero."""
    return bool(_ac_ftz())


# ---- stable functions: the C helpers of algebrac_math.h, exposed for unit tests ----------
# Generated kernels include algebrac_math.h and inline these helpers (C cannot
# inline a Cython cdef function from another module), so the header is their
# single source; the wrappers below call exactly that code.
cdef extern from "algebrac_math.h" nogil:
    double _ac_sigmoid(double)
    float _ac_sigmoidf(float)
    double _ac_log_sigmoid(double)
    float _ac_log_sigmoidf(float)
    double _ac_softplus(double)
    float _ac_softplusf(float)
    double _ac_log1mexp(double)
    float _ac_log1mexpf(float)
    double _ac_erfcx(double)
    float _ac_erfcxf(float)
    double _ac_log_erfc(double)
    float _ac_log_erfcf(float)
    double _ac_relu(double)
    float _ac_reluf(float)
    double _ac_logaddexp(double, double)
    float _ac_logaddexpf(float, float)
    double _ac_logdiffexp(double, double)
    float _ac_logdiffexpf(float, float)
    double _ac_xlogy(double, double)
    float _ac_xlogyf(float, float)
    double _ac_xlog1py(double, double)
    float _ac_xlog1pyf(float, float)

ctypedef double (*_d1)(double) noexcept nogil
ctypedef float (*_f1)(float) noexcept nogil
ctypedef double (*_d2)(double, double) noexcept nogil
ctypedef float (*_f2)(float, float) noexcept nogil

import numpy as _np


def _as_float(*args):
    """Broadcast arrays in float32 when every array is float32, else float64."""
    arrays = [_np.asarray(a) for a in args]
    single = all(a.dtype == _np.float32 for a in arrays)
    dtype = _np.float32 if single else _np.float64
    shape = _np.broadcast_shapes(*[a.shape for a in arrays])
    flat = [_np.ascontiguousarray(_np.broadcast_to(a, shape), dtype=dtype).ravel()
            for a in arrays]
    return flat, shape, single


def _finish(out, shape):
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


cdef object _unary(x, _d1 fd, _f1 ff):
    (flat,), shape, single = _as_float(x)
    out = _np.empty_like(flat)
    cdef Py_ssize_t i, n = flat.shape[0]
    cdef const double[::1] xd
    cdef const float[::1] xf
    cdef double[::1] od
    cdef float[::1] of
    if single:
        xf, of = flat, out
        with nogil:
            for i in range(n):
                of[i] = ff(xf[i])
    else:
        xd, od = flat, out
        with nogil:
            for i in range(n):
                od[i] = fd(xd[i])
    return _finish(out, shape)


cdef object _binary(a, b, _d2 fd, _f2 ff):
    (fa, fb), shape, single = _as_float(a, b)
    out = _np.empty_like(fa)
    cdef Py_ssize_t i, n = fa.shape[0]
    cdef const double[::1] ad, bd
    cdef const float[::1] af, bf
    cdef double[::1] od
    cdef float[::1] of
    if single:
        af, bf, of = fa, fb, out
        with nogil:
            for i in range(n):
                of[i] = ff(af[i], bf[i])
    else:
        ad, bd, od = fa, fb, out
        with nogil:
            for i in range(n):
                od[i] = fd(ad[i], bd[i])
    return _finish(out, shape)


def sigmoid(x):
    """``_ac_sigmoid``/``_ac_sigmoidf`` of algebrac_math.h elementwise (float32 stays float32).

    >>> from algebrac import _kernels
    >>> float(_kernels.sigmoid(-800.0)), float(_kernels.sigmoid(0.0))
    (0.0, 0.5)
    """
    return _unary(x, _ac_sigmoid, _ac_sigmoidf)


def log_sigmoid(x):
    """The C helper ``_ac_log_sigmoid`` (``-softplus(-x)``) elementwise."""
    return _unary(x, _ac_log_sigmoid, _ac_log_sigmoidf)


def softplus(x):
    """The C helper ``_ac_softplus`` (``log(1 + exp(x))``) elementwise.

    >>> from algebrac import _kernels
    >>> float(_kernels.softplus(1000.0)), float(_kernels.softplus(-1000.0))
    (1000.0, 0.0)
    """
    return _unary(x, _ac_softplus, _ac_softplusf)


def log1mexp(x):
    """The C helper ``_ac_log1mexp`` (``log(1 - exp(x))``, ``x <= 0``) elementwise."""
    return _unary(x, _ac_log1mexp, _ac_log1mexpf)


def erfcx(x):
    """The C helper ``_ac_erfcx`` (``exp(x**2)*erfc(x)``) elementwise."""
    return _unary(x, _ac_erfcx, _ac_erfcxf)


def log_erfc(x):
    """The C helper ``_ac_log_erfc`` (``log(erfc(x))``) elementwise."""
    return _unary(x, _ac_log_erfc, _ac_log_erfcf)


def relu(x):
    """The C helper ``_ac_relu`` (``max(x, 0)``, NaN propagated) elementwise."""
    return _unary(x, _ac_relu, _ac_reluf)


def logaddexp(a, b):
    """The C helper ``_ac_logaddexp`` (``log(exp(a) + exp(b))``), broadcasting."""
    return _binary(a, b, _ac_logaddexp, _ac_logaddexpf)


def logdiffexp(a, b):
    """The C helper ``_ac_logdiffexp`` (``log(exp(a) - exp(b))``, ``a >= b``), broadcasting."""
    return _binary(a, b, _ac_logdiffexp, _ac_logdiffexpf)


def xlogy(x, y):
    """The C helper ``_ac_xlogy`` (``x*log(y)``, 0 where ``x == 0``), broadcasting."""
    return _binary(x, y, _ac_xlogy, _ac_xlogyf)


def xlog1py(x, y):
    """The C helper ``_ac_xlog1py`` (``x*log1p(y)``, 0 where ``x == 0``), broadcasting."""
    return _binary(x, y, _ac_xlog1py, _ac_xlog1pyf)
