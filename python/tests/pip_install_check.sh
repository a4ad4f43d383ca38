#!/usr/bin/env bash
# The pip install of qeq, end to end (ctest `pip_install`; not part of the pytest run):
#   1. a fresh venv (--system-site-packages: numpy, PyTorch and wheel come from Debian's
#      packages; pip and setuptools are the venv's own, from Debian's python3-*-whl);
#   2. <venv>/bin/pip install --no-build-isolation --no-index --no-cache-dir <repo>, timed
#      (wall time and load average printed);
#   3. from another directory, with QEQ_LIBRARY unset: import qeq (version and ISA), the
#      library mapped is the one inside the venv's qeq package, qeq.torch imports (when
#      PyTorch is there), py.typed is installed, the wheel is platform-specific;
#   4. pip show lists the version of CMakeLists.txt's project() line and license MIT;
#   5. pip uninstall -y qeq leaves no file of the package in the venv;
#   6. the build left nothing in the source tree (build/lib*, build/bdist.*, *.egg-info, dist/,
#      a library or _install.py in python/qeq).
# Usage: pip_install_check.sh [PYTHON]   (default /usr/bin/python3; needs python3-venv,
# python3-pip, python3-setuptools, python3-wheel, cmake, a C compiler, libpthreadpool-dev).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${1:-/usr/bin/python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/qeq-pip-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset QEQ_LIBRARY PYTHONPATH PYTHONHOME PIP_REQUIRE_VIRTUALENV
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

fail() {
  echo "pip_install_check: FAIL: $*" >&2
  exit 1
}

version=$(sed -nE 's/^ *project\( *qeq +VERSION +([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' \
  "$root/CMakeLists.txt")
[[ -n $version ]] || fail "no project(qeq VERSION x.y.z) in $root/CMakeLists.txt"

# What setuptools would leave in the source tree, before and after (only new ones count: the
# tree is shared, and build/ also holds CMake's build trees).
artifacts() {
  (
    cd "$root"
    find . -maxdepth 3 -path ./.git -prune -o -name '*.egg-info' -print
    ls -d build/lib build/lib.* build/bdist.* build/temp.* dist python/build \
      python/qeq/_install.py python/qeq/libqeq.so* 2>/dev/null || true
  ) | sort
}
artifacts >"$work/artifacts-before"

echo "== venv: $python -m venv --system-site-packages"
"$python" -m venv --system-site-packages "$work/venv"
venv_python=$work/venv/bin/python
site=$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')

echo "== pip install --no-build-isolation --no-index $root"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
start=$(date +%s.%N)
if ! "$work/venv/bin/pip" install --no-build-isolation --no-index --no-cache-dir "$root" \
  >"$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  fail "pip install failed"
fi
end=$(date +%s.%N)
tail -n 3 "$work/install.log"
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
printf 'pip install wall time: %.1f s (load average after: %s)\n' "$seconds" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== import qeq from another directory"
cd "$work"
"$venv_python" - "$site" "$version" <<'EOF' || fail "the installed package is not the one expected"
import os
import sys
from pathlib import Path

site, version = Path(sys.argv[1]).resolve(), sys.argv[2]
assert "QEQ_LIBRARY" not in os.environ
import qeq

print(qeq.version_string(), qeq.best_isa(), qeq.isa())
package = Path(qeq.__file__).resolve().parent
assert package == site / "qeq", f"qeq imported from {package}, not {site / 'qeq'}"
assert qeq.version_string() == version == qeq.__version__, (qeq.version_string(), version)
mapped = {Path(line.split()[-1]).resolve()
          for line in open("/proc/self/maps") if "libqeq" in line.split()[-1]}
major, minor = version.split(".")[:2]
soversion = f"{major}.{minor}" if major == "0" else major
assert mapped == {package / f"libqeq.so.{soversion}"}, f"libqeq mapped: {mapped}"
print("library:", *mapped)
assert (package / "py.typed").is_file(), "py.typed is not installed"
try:
    import torch  # noqa: F401
except ImportError:
    print("PyTorch not installed: qeq.torch not imported")
else:
    import qeq.torch
    assert Path(qeq.torch.__file__).resolve() == package / "torch" / "__init__.py"
    assert qeq.torch.torch is torch, "qeq.torch's `torch` is not PyTorch"
    print("qeq.torch:", qeq.torch.__file__)
EOF

dist_info=$site/qeq-$version.dist-info
[[ -f $dist_info/RECORD ]] || fail "no $dist_info/RECORD"
grep -q '^Root-Is-Purelib: false$' "$dist_info/WHEEL" || fail "the wheel is tagged pure"
grep '^Tag: ' "$dist_info/WHEEL"
! grep -q '^Tag: .*-any$' "$dist_info/WHEEL" || fail "the wheel is tagged for any platform"

echo "== pip show qeq"
"$work/venv/bin/pip" show qeq | tee "$work/show"
grep -qx "Version: $version" "$work/show" || fail "pip show: no 'Version: $version'"
grep -qx "License: MIT" "$work/show" || fail "pip show: no 'License: MIT'"

echo "== pip uninstall -y qeq"
cut -d, -f1 "$dist_info/RECORD" | sed "s|^|$site/|" >"$work/recorded"
"$work/venv/bin/pip" uninstall -y qeq
left=$(
  while read -r f; do [[ -e $f ]] && echo "$f"; done <"$work/recorded"
  find "$work/venv" -iname '*qeq*'
)
[[ -z $left ]] || fail "left after pip uninstall:
$left"
echo "nothing of qeq left in the venv"

echo "== the source tree"
artifacts >"$work/artifacts-after"
new=$(comm -13 "$work/artifacts-before" "$work/artifacts-after")
[[ -z $new ]] || fail "the build left in $root: $new"
echo "no build artifacts in $root"
echo "pip_install_check: passed"
