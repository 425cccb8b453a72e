# Shared by the VNN-COMP scripts: where qcert is, and the uncompressed copy of an
# instance file (the competition may hand out .onnx.gz / .vnnlib.gz).
QCERT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QCERT=${QCERT:-$QCERT_ROOT/build/qcert}
CACHE=${QCERT_VNNCOMP_CACHE:-$QCERT_ROOT/vnncomp/.cache}

check_version() {
  if [ "$1" != "v1" ]; then
    echo "Expected first argument (version string) 'v1', got '$1'" >&2
    exit 1
  fi
}

# The path qcert reads for an instance file: the file itself, or its unpacked copy in $CACHE.
plain_path() {
  case "$1" in
    *.gz) echo "$CACHE/$(printf '%s' "$1" | sha256sum | cut -c1-16)-$(basename "${1%.gz}")" ;;
    *) echo "$1" ;;
  esac
}

# qcert verifies a quantized network in its exact integer semantics: a QDQ ONNX model
# brings its own; a float model needs QCERT_SCHEME (e.g. aaai2021:8), see docs/SCHEMES.md.
scheme_args() {
  if [ -n "${QCERT_SCHEME:-}" ]; then echo "--scheme $QCERT_SCHEME"; fi
}
