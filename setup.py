"""Builds the optional C accelerator, ``plumberd_logging._speedups`` (everything else is in
pyproject.toml). Without a C compiler the install still succeeds: the package then runs its
pure-Python twins of the same functions (byte for byte the same output, only slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "plumberd_logging._speedups",
            ["plumberd_logging/_speedups.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
