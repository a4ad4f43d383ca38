"""pip's build of qeq (metadata in pyproject.toml): setuptools drives CMake.

    pip install --no-build-isolation .

build_py compiles libqeq with CMake (the shared-library target only: no tests, benchmarks or
CMake's own Python install) and puts it inside the package as qeq/libqeq.so.<soversion>, with
qeq/_install.py naming it, which is how qeq/_lib.py finds an installed library. So the wheel
is platform-specific (py3-none-<platform>: the library does not use Python's C API), and
`pip uninstall qeq` removes the library with the package.

The version is CMakeLists.txt's project(qeq VERSION x.y.z). Every build tree (setuptools'
build/ and egg-info, CMake's) goes to a temporary directory that is removed when the build
ends, never into the source tree. An editable install (pip install -e) builds no library:
the package is then imported from python/qeq and needs QEQ_LIBRARY.

Environment: CMAKE, the cmake program (default: cmake on PATH); QEQ_CMAKE_ARGS, more
configure arguments (split like a shell); QEQ_BUILD_JOBS, the parallel build jobs (default:
the CPUs this process may use).
"""
from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # no wheel package: plain `setup.py install` still works
    bdist_wheel = None

ROOT = Path(__file__).resolve().parent


def cmake_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"^\s*project\(\s*qeq\s+VERSION\s+(\d+\.\d+\.\d+)\b", text, re.M)
    if not match:
        sys.exit("setup.py: no `project(qeq VERSION x.y.z)` line in CMakeLists.txt")
    return match.group(1)


VERSION = cmake_version()
_MAJOR, _MINOR = VERSION.split(".")[:2]
# The SONAME, which is what gets loaded: the minor is part of it before 1.0 (CMakeLists.txt).
LIBRARY = f"libqeq.so.{_MAJOR}.{_MINOR}" if _MAJOR == "0" else f"libqeq.so.{_MAJOR}"

# One scratch directory per setuptools run (pip runs each build step in a new process).
SCRATCH = Path(tempfile.mkdtemp(prefix="qeq-pip-build-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
(SCRATCH / "egg-info").mkdir()


def build_jobs() -> int:
    if os.environ.get("QEQ_BUILD_JOBS"):
        return int(os.environ["QEQ_BUILD_JOBS"])
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


class BuildPyWithLibrary(build_py):
    """The Python sources, then libqeq from CMake and qeq/_install.py beside them."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            # pip install -e: the package is imported from python/qeq, where no library is
            # (and none is written: the source tree stays clean); a library built here would
            # be thrown away with the temporary build tree.
            self.warn("editable install: libqeq is not built; build it with CMake and set "
                      "QEQ_LIBRARY=<build>/libqeq.so")
            return
        package_dir = Path(self.build_lib) / "qeq"
        library = self._build_library()
        self.copy_file(str(library), str(package_dir / LIBRARY), preserve_mode=True)
        install_py = package_dir / "_install.py"
        self.announce(f"writing {install_py}", level=2)
        install_py.write_text("# Written by qeq's setup.py: libqeq relative to this package.\n"
                              f'LIBRARY = "{LIBRARY}"\n')

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        if getattr(self, "editable_mode", False):
            return super().get_outputs(include_bytecode)
        package_dir = Path(self.build_lib) / "qeq"
        return super().get_outputs(include_bytecode) + [str(package_dir / LIBRARY),
                                                        str(package_dir / "_install.py")]

    def _build_library(self) -> Path:
        cmake = os.environ.get("CMAKE") or shutil.which("cmake")
        if not cmake:
            sys.exit("setup.py: cmake not found (apt-get install cmake, or set CMAKE)")
        build = SCRATCH / "cmake"
        configure = [cmake, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     "-DQEQ_BUILD_TESTS=OFF", "-DQEQ_BUILD_BENCHMARKS=OFF",
                     "-DQEQ_BUILD_PYTHON=OFF"]
        configure += shlex.split(os.environ.get("QEQ_CMAKE_ARGS", ""))
        compile_ = [cmake, "--build", str(build), "--target", "qeq", "-j", str(build_jobs())]
        for command in (configure, compile_):
            self.announce(" ".join(shlex.quote(c) for c in command), level=2)
            subprocess.run(command, check=True)
        library = build / LIBRARY  # a symlink to libqeq.so.x.y.z; copied as a file
        if not library.exists():
            sys.exit(f"setup.py: the CMake build did not produce {library}")
        return library


class PlatformDistribution(Distribution):
    """A distribution with a compiled library: installed into platlib, wheel not pure."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass = {"build_py": BuildPyWithLibrary}
if bdist_wheel is not None:

    class BdistWheelPlatform(bdist_wheel):
        """Tagged py3-none-<platform>: any Python 3 on this platform, as ctypes loads it."""

        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self) -> tuple[str, str, str]:
            return ("py3", "none", super().get_tag()[2])

    cmdclass["bdist_wheel"] = BdistWheelPlatform

setup(
    version=VERSION,
    distclass=PlatformDistribution,
    cmdclass=cmdclass,
    options={
        "build": {"build_base": str(SCRATCH / "build")},
        "egg_info": {"egg_base": str(SCRATCH / "egg-info")},
    },
)
