#!/usr/bin/env bash
# Installs every Debian package qcert needs to build, test and run. Idempotent.
set -euo pipefail
PKGS=(
  cmake g++ ninja-build pkg-config git
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libcvc5-dev cvc5 libz3-dev z3 coinor-libcbc-dev coinor-cbc libsdpa-dev sdpa boolector
  libhdf5-dev libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libopenmpi-dev openmpi-bin libmpfr-dev zlib1g-dev
  dataset-fashion-mnist clang libclang-rt-14-dev python3
  python3-numpy python3-h5py  # bench/qvip_recheck.py: the independent re-check of the QVIP sweep
  chromium
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "qcert: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
