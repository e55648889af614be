/* What every generated library shares with algebrac: the thread count of compiled
 * kernels, the BLAS hold, and the pointers Python sets when it loads the library.
 *
 * algebrac._kernels holds one process-wide thread setting (ac.set_num_threads,
 * threadpoolctl); each kernel reads it each time it opens a parallel region.
 * omp_set_num_threads would set the limit of the calling thread only, so a Dask
 * or ThreadPoolExecutor thread would still use every CPU.
 *
 * A library is plain C loaded with ctypes (algebrac/cpu/native.py), not a Python
 * extension module.  Its pointers to other libraries' functions (the thread
 * setting, SciPy's special functions and BLAS) are listed in `_ac_imports`, one
 * "module name symbol nargs" line each, and set by the loader before any call.
 * The file that defines them (ALGEBRAC_THREADS_DEFINE) is the library's main
 * file; the loop and part files declare them extern (_AC_SHARED). */
#ifndef ALGEBRAC_THREADS_H
#define ALGEBRAC_THREADS_H
#include <omp.h>
#define _AC_EXPORT __attribute__((visibility("default")))

/* Holding SciPy's BLAS to one thread around gemm calls a kernel splits over its
 * own threads (algebrac._kernels keeps the process-wide count of holders). */
typedef struct { int (*hold)(void *); void (*release)(void); } _ac_blas_hold_t;

#ifdef ALGEBRAC_THREADS_DEFINE
#define _AC_SHARED _AC_EXPORT
#else
#define _AC_SHARED extern _AC_EXPORT
#endif
_AC_SHARED int *_ac_threads_ptr;
_AC_SHARED _ac_blas_hold_t *_ac_blas_hold_ptr;
#define _AC_THREAD_IMPORTS \
    "algebrac._kernels _threads_capsule _ac_threads_ptr -1\n" \
    "algebrac._kernels _blas_hold_capsule _ac_blas_hold_ptr -1\n"

static inline int _ac_nthreads(void)
{
    int *p = __atomic_load_n(&_ac_threads_ptr, __ATOMIC_RELAXED);
    return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : omp_get_max_threads();
}
#endif
