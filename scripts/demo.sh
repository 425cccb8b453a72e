#!/usr/bin/env bash
# Set-up, build, and the main job on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=qcert bash scripts/build.sh >/dev/null
exec bash examples/run_demo.sh
