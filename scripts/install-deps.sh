#!/usr/bin/env bash
# Installs qeq's build and test dependencies from Debian 12's archive. Idempotent: does
# nothing (and needs no network) when every package is already installed.
#   bash scripts/install-deps.sh            # x86_64 / native build, tests, benchmark
#   bash scripts/install-deps.sh --aarch64  # plus the cross compiler and qemu-user
set -euo pipefail

packages=(build-essential cmake pkg-config libsimde-dev libbenchmark-dev libcmocka-dev)
if [[ "${1:-}" == "--aarch64" ]]; then
  packages+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
