"""algebrac's thread pool as threadpoolctl sees it.

Compiled kernels run OpenMP loops with one process-wide thread count
(:func:`algebrac.set_num_threads`).  With threadpoolctl installed, importing
algebrac registers a controller, so ``threadpool_info()`` lists algebrac
(``user_api="openmp"``) and ``threadpool_limits`` bounds it, as Dask, joblib
and scikit-learn use it against oversubscription.

>>> import algebrac as ac
>>> from threadpoolctl import threadpool_info, threadpool_limits
>>> [info["internal_api"] for info in threadpool_info() if info["internal_api"] == "algebrac"]
['algebrac']
>>> with threadpool_limits(limits=1, user_api="openmp"):
...     ac.get_num_threads()
1
"""
from __future__ import annotations

__all__ = ["register_with_threadpoolctl"]

_registered = False


def register_with_threadpoolctl() -> bool:
    """Register algebrac's controller with threadpoolctl (once); False when it is absent."""
    global _registered
    if _registered:
        return True
    try:
        import threadpoolctl
    except ImportError:
        return False

    from . import __version__

    class AlgebracController(threadpoolctl.LibController):
        """The thread count of algebrac's compiled kernels (``algebrac._kernels``)."""

        user_api = "openmp"
        internal_api = "algebrac"
        filename_prefixes = ("_kernels",)
        check_symbols = ("algebrac_get_num_threads", "algebrac_set_num_threads")

        def get_num_threads(self):
            return self.dynlib.algebrac_get_num_threads()

        def set_num_threads(self, num_threads):
            self.dynlib.algebrac_set_num_threads(int(num_threads))

        def get_version(self):
            return __version__

    threadpoolctl.register(AlgebracController)
    _registered = True
    return True
