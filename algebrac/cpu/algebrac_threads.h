/* The thread count of compiled kernels, shared by every generated module.
 *
 * algebrac._kernels holds one process-wide setting (ac.set_num_threads,
 * threadpoolctl); each generated module binds to it when imported and reads
 * it each time it opens a parallel region.  omp_set_num_threads would set the
 * limit of the calling thread only, so a Dask or ThreadPoolExecutor thread
 * would still use every CPU.
 *
 * A module's C files share one pointer: the file that registers the ufunc
 * defines it (ALGEBRAC_THREADS_DEFINE) and binds it; loop files declare it. */
#ifndef ALGEBRAC_THREADS_H
#define ALGEBRAC_THREADS_H
#include <omp.h>

/* Holding SciPy's BLAS to one thread around gemm calls a kernel splits over its
 * own threads (algebrac._kernels keeps the process-wide count of holders). */
typedef struct { int (*hold)(void *); void (*release)(void); } _ac_blas_hold_t;

#ifdef ALGEBRAC_THREADS_DEFINE
__attribute__((visibility("hidden"))) int *_ac_threads_ptr = NULL;
__attribute__((visibility("hidden"))) _ac_blas_hold_t *_ac_blas_hold_ptr = NULL;

/* Python C-API: call with the GIL held, from the module's initialisation. */
static int _ac_bind_threads(void)
{
    PyObject *mod = PyImport_ImportModule("algebrac._kernels");
    if (mod == NULL) return -1;
    /* the pointers stay valid: extension modules are never unloaded */
    PyObject *cap = PyObject_GetAttrString(mod, "_threads_capsule");
    if (cap == NULL) { Py_DECREF(mod); return -1; }
    _ac_threads_ptr = (int *)PyCapsule_GetPointer(cap, "algebrac._kernels.threads");
    Py_DECREF(cap);
    cap = _ac_threads_ptr ? PyObject_GetAttrString(mod, "_blas_hold_capsule") : NULL;
    Py_DECREF(mod);
    if (cap == NULL) return -1;
    _ac_blas_hold_ptr = (_ac_blas_hold_t *)PyCapsule_GetPointer(cap, "algebrac._kernels.blas_hold");
    Py_DECREF(cap);
    return _ac_blas_hold_ptr == NULL ? -1 : 0;
}
#else
extern __attribute__((visibility("hidden"))) int *_ac_threads_ptr;
extern __attribute__((visibility("hidden"))) _ac_blas_hold_t *_ac_blas_hold_ptr;
#endif

static inline int _ac_nthreads(void)
{
    int *p = __atomic_load_n(&_ac_threads_ptr, __ATOMIC_RELAXED);
    return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : omp_get_max_threads();
}
#endif
