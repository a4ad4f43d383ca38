#!/usr/bin/env bash
# Installs qeq's build and test dependencies from Debian 12's archive. Idempotent: does
# nothing (and needs no network) when every package is already installed.
#   bash scripts/install-deps.sh            # x86_64 / native build, tests, benchmark
#   bash scripts/install-deps.sh --aarch64  # plus the cross compiler, arm64 libraries, qemu-user
#   bash scripts/install-deps.sh --bench-peers  # plus oneDNN and XNNPACK, the benchmarks' peers
set -euo pipefail

native=$(dpkg --print-architecture)
# pthreadpool is not multi-arch co-installable: the native one comes from apt, the arm64 one
# for the cross build is unpacked beside the tree (below), never installed over it.
packages=(build-essential cmake pkg-config libsimde-dev libbenchmark-dev libcmocka-dev
          "libpthreadpool-dev:$native"
          python3-numpy python3-pytest python3-torch python3-torchvision # python/, its tests
          python3-matplotlib # python3 -m qeq report's plots (skipped without it)
          python3-venv python3-pip python3-setuptools python3-wheel # pip install . (pip_install test)
          clang libclang-rt-14-dev) # libFuzzer and its sanitizers (scripts/run-fuzzers.sh)
cross=0
if [[ "${1:-}" == "--aarch64" ]]; then
  cross=1
  packages+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
             libcmocka-dev:arm64 libbenchmark-dev:arm64)
elif [[ "${1:-}" == "--bench-peers" ]]; then
  packages+=(libdnnl-dev libxnnpack-dev)
fi

# The arm64 pthreadpool for the cross build, unpacked (not installed) from Debian's packages.
arm64_pthreadpool=/opt/qeq-arm64-pthreadpool
unpack_arm64_pthreadpool() {
  [[ -f $arm64_pthreadpool/usr/include/pthreadpool.h ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt downloads as its own user
  (cd "$tmp" && $SUDO apt-get download -qq libpthreadpool-dev:arm64 libpthreadpool0:arm64)
  $SUDO mkdir -p "$arm64_pthreadpool"
  for deb in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$deb" "$arm64_pthreadpool"; done
  rm -rf "$tmp"
}

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  if ((cross)); then unpack_arm64_pthreadpool; fi
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The arm64 test and benchmark libraries come from Debian's multiarch archive.
if ((cross)) && [[ $(dpkg --print-architecture) != arm64 ]] &&
  ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if ((cross)); then unpack_arm64_pthreadpool; fi
