"""Build script: the one compiled piece shipped with algebrac is ``algebrac._kernels``."""
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "algebrac._kernels",
        ["algebrac/_kernels.pyx"],
        include_dirs=["algebrac/cpu"],  # algebrac_math.h: the stable-function helpers
        extra_compile_args=["-O2", "-fopenmp"],
        extra_link_args=["-fopenmp"],
    )
]

setup(ext_modules=cythonize(extensions, language_level=3))
