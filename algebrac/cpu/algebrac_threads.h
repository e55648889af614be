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

#ifdef ALGEBRAC_THREADS_DEFINE
__attribute__((visibility("hidden"))) int *_ac_threads_ptr = NULL;

/* Python C-API: call with the GIL held, from the module's initialisation. */
static int _ac_bind_threads(void)
{
    PyObject *mod = PyImport_ImportModule("algebrac._kernels");
    if (mod == NULL) return -1;
    PyObject *cap = PyObject_GetAttrString(mod, "_threads_capsule");
    Py_DECREF(mod);  /* stays alive in sys.modules: extension modules are never unloaded */
    if (cap == NULL) return -1;
    _ac_threads_ptr = (int *)PyCapsule_GetPointer(cap, "algebrac._kernels.threads");
    Py_DECREF(cap);
    return _ac_threads_ptr == NULL ? -1 : 0;
}
#else
extern __attribute__((visibility("hidden"))) int *_ac_threads_ptr;
#endif

static inline int _ac_nthreads(void)
{
    int *p = __atomic_load_n(&_ac_threads_ptr, __ATOMIC_RELAXED);
    return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : omp_get_max_threads();
}
#endif
