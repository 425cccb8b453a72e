#!/usr/bin/env bash
# VNN-COMP: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Unpacks compressed instance files and checks that qcert reads the network (with
# QCERT_SCHEME, if set) and the property. Exit 0: ready; non-zero: qcert skips the instance.
set -uo pipefail
source "$(dirname "$0")/common.sh"
check_version "${1:-}"
CATEGORY=$2 ONNX=$3 VNNLIB=$4
echo "qcert: preparing $CATEGORY instance $ONNX $VNNLIB"
mkdir -p "$CACHE"
for f in "$ONNX" "$VNNLIB"; do
  p=$(plain_path "$f")
  if [ "$p" != "$f" ] && [ ! -f "$p" ]; then
    gzip -dc "$f" >"$p.tmp" && mv "$p.tmp" "$p" || { rm -f "$p.tmp"; echo "qcert: cannot unpack $f" >&2; exit 1; }
  fi
done
# shellcheck disable=SC2046
"$QCERT" inspect "$(plain_path "$ONNX")" $(scheme_args) >/dev/null || exit 1
# Reading the property against the network: a zero time budget decides nothing but
# checks the file and its sizes.
# (Its "unknown" and the reason are not news; an error is printed.)
# shellcheck disable=SC2046
if ! err=$("$QCERT" verify "$(plain_path "$ONNX")" $(scheme_args) --vnnlib "$(plain_path "$VNNLIB")" --method interval \
             --timeout 0.001 2>&1 >/dev/null); then
  echo "$err" >&2
  exit 1
fi
exit 0
