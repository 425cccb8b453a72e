#!/usr/bin/env bash
# qcert synth on Quadapter's networks (FM 2024): 50 MNIST test samples x radius 1..5 (1/255).
# Writes bench/results/quadapter_synth_NET[ID][_METHOD_poly]_tTIMEOUT/ (results.jsonl resumable, synth.json,
# scheme.json); ID names the samples, radii and bit range when they are not the defaults.
# and prints a markdown table. Env: QCERT, NETS (default "mnist_1blk_100"), SAMPLES (0:50),
# RADII (1,2,3,4,5), MIN_BITS (2), MAX_BITS (16), TIMEOUT (seconds per property and candidate, 10).
# CHECK=1: instead of searching, check Quadapter's published bits (synth --bits) into ..._check_BITS_tTIMEOUT.
# METHOD: synth --method (search, preimage, best; default: search, the directories of the earlier runs);
# another method than search writes ..._METHOD_poly_tTIMEOUT (a copy of the search's results.jsonl is a
# cache of the checks already done). SAMPLES=quadapter: the 50 test images of Quadapter's benchmark
# (tool/readme.md of zhangyedi/Quadapter), written to ..._qsamples_...; THREADS: synth --threads (0: all cores).
# TRIGGER="R,C=V;..." TARGET=T: backdoor-freeness properties instead of robustness (..._backdoorT_...);
# COST=memory: minimise bits x parameters (..._memory_...; with METHOD=best the answers are compared by it).
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
B=${BENCH_DIR:-../shared/benchmarks}
NETS=${NETS:-"mnist_1blk_100"}
SAMPLES=${SAMPLES:-0:50}
METHOD=${METHOD:-search}
RADII=${RADII:-1,2,3,4,5}
TIMEOUT=${TIMEOUT:-10}
# id: what identifies the run's properties and bit range besides the network and the timeout
# (nothing for the defaults, so the earlier directories keep their names).
id=""
if [ "$SAMPLES" = quadapter ]; then
  SAMPLES=5346,8564,7059,371,6984,5782,2127,8517,4520,8685,3877,463,5446,7775,9623,5739,5010,7668,892,8825,3523,7997,8561,1613,6934,6781,5554,6301,6220,9873,9384,130,9033,8620,6066,4973,8870,5032,8911,5224,5369,1451,7766,5126,9498,1382,3932,8302,9566,5750
  id=_qsamples
elif [ "$SAMPLES" != 0:50 ]; then
  s=$(echo "$SAMPLES" | tr ',:' '-_')
  [ ${#s} -le 24 ] || s=h$(echo "$SAMPLES" | md5sum | cut -c1-8)
  id=_s$s
fi
[ "$RADII" = 1,2,3,4,5 ] || id+=_r${RADII//,/-}
[ "${MIN_BITS:-2},${MAX_BITS:-16}" = 2,16 ] || id+=_b${MIN_BITS:-2}-${MAX_BITS:-16}
# The method: search keeps the old names; preimage and best ran the box preimages until the
# polytope preimages replaced them (directories ..._preimage_poly_..., ..._best_poly_...).
tag=$id
case $METHOD in search) ;; preimage|best) tag+=_${METHOD}_poly ;; *) tag+=_$METHOD ;; esac
mkdir -p bench/results
echo "| network | timeout (s) | bits | proved / total | kept by float | required (proved at max) | accuracy % | candidates | time (s) |"
echo "|---|---|---|---|---|---|---|---|---|"
for net in $NETS; do
  case $net in
    fashion*) IMG=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz; LAB=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ;;
    *) IMG=$B/mnist/t10k-images-idx3-ubyte.gz; LAB=$B/mnist/t10k-labels-idx1-ubyte.gz ;;
  esac
  prefix=quadapter_synth suffix= qtag=$tag
  extra=()
  if [ -n "${TRIGGER:-}" ]; then prefix+=_backdoor${TARGET}; extra+=(--trigger "$TRIGGER" --target "$TARGET"); fi
  if [ -n "${COST:-}" ]; then prefix+=_${COST}; extra+=(--cost "$COST"); fi
  if [ "${CHECK:-0}" = 1 ]; then
    case $net in
      mnist_1blk_100) bits=6,3 ;; mnist_2blk_100_100) bits=8,6,3 ;; mnist_3blk_100_100_100) bits=11,9,6,3 ;;
      *) echo "no published bits for $net" >&2; continue ;;
    esac
    prefix=${prefix/synth/check} suffix=_${bits} qtag=$id
    extra+=(--bits "$bits")
  fi
  out=bench/results/${prefix}_${net}${suffix}${qtag}_t${TIMEOUT}
  search_log=bench/results/${prefix/check/synth}_${net}${id}_t${TIMEOUT}/results.jsonl
  if [ "$METHOD" != search ] && [ ! -e "$out/results.jsonl" ] && [ -e "$search_log" ]; then
    mkdir -p "$out" && cp "$search_log" "$out/results.jsonl"
  fi
  "$QCERT" synth "$B/quadapter/${net}_weight.h5" --images "$IMG" --labels "$LAB" --samples "$SAMPLES" \
    --radius "$RADII" --min-bits "${MIN_BITS:-2}" --max-bits "${MAX_BITS:-16}" --timeout "$TIMEOUT" --out "$out" --json \
    --method "$METHOD" --threads "${THREADS:-0}" "${extra[@]}" >/dev/null
  python3 - "$out/synth.json" "$net" "$TIMEOUT" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {sys.argv[3]} | ({','.join(map(str, j['bits']))}) | {j['proved']} / {j['total']} | {j['kept']} | {j['required']} | "
      f"{j['accuracy']:.2f} | {j['candidates']} | {j['time_s']:.0f} |")
for a in j.get("answers", []):
    cost = f" ({j['cost_kind']} cost {a['cost']})" if 'cost' in a else ""
    print(f"|   method {a['method']}{cost} | | ({','.join(map(str, a['bits']))}) | {a['proved']} / {j['kept']} kept | | | | | {a['time_s']:.0f} (choice) |")
PY
done
