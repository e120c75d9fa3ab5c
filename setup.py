"""Builds the optional compiled kernels (redes/_kernels.c); everything else is in pyproject.toml.

optional=True: without a C compiler the install still succeeds and redes runs on its NumPy code alone.
"""
import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]
threads = [] if sys.platform == "win32" else ["-pthread"]       # the kernels' thread pool (redes/_kernels.c)
setup(ext_modules=[Extension("redes._kernels", ["redes/_kernels.c"], extra_compile_args=flags + threads,
                             extra_link_args=threads, optional=True)])
