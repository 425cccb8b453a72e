#!/usr/bin/env bash
# VNN-COMP: install_tool.sh v1 -- installs the Debian packages and builds qcert.
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_version "${1:-}"
cd "$QCERT_ROOT"
TARGETS=qcert bash scripts/build.sh
