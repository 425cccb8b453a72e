#!/usr/bin/env bash
# Set-up, build and the whole test suite (unit + regression). Third-party
# benchmark cases are skipped, with a message, when ../shared is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
