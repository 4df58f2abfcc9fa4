#!/usr/bin/env bash
# T3 on a lent GPU machine, from the repository root: build the plugin library in place (editable install), run
# the GPU tests, compute-sanitizer memcheck + racecheck on them, and the benchmarks. Logs and results go to $OUT.
#   OUT=/tmp/t3 STEPS="build tests sanitize bench" bash benchmarks/plugins/run_gpu.sh
set -o pipefail
OUT=${OUT:-/tmp/t3}
STEPS=${STEPS:-"build tests sanitize bench"}
mkdir -p "$OUT"
export TRT_INCLUDE_DIR=${TRT_INCLUDE_DIR:-$PWD/tensorrt-include} TRT_HELPER_CUDA_ARCHS=${TRT_HELPER_CUDA_ARCHS:-90}
export PYTHONUNBUFFERED=1
step() { [[ " $STEPS " == *" $1 "* ]]; }
status=0

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/device.txt"
date -u +%Y-%m-%dT%H:%M:%SZ | tee -a "$OUT/device.txt"
if step build; then
  (time python3 -m pip install --no-build-isolation --no-deps -v -e .) > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  grep -E "trt_helper:|warning" "$OUT/build.log" | head -20
  python3 -c "from trt_helper import plugins; print('library', plugins.find_plugin_library(), 'harness', plugins.load_harness())"
fi
if step tests; then
  timeout 240 python3 -m pytest -q -rs -s tests/plugins -p no:cacheprovider 2>&1 | tee "$OUT/t3_tests.log" | grep -vE "^generator seed" | tail -25 || status=1
fi
if step bench; then
  timeout 300 python3 benchmarks/plugins/bench_plugins.py --out "$OUT/bench.json" --profile-dir "$OUT" 2>&1 | tee "$OUT/bench.log" || status=1
fi
if step sanitize; then
  : > "$OUT/sanitizer.log"
  for tool in memcheck racecheck; do
    echo "=== compute-sanitizer --tool $tool" >> "$OUT/sanitizer.log"
    timeout 170 compute-sanitizer --tool $tool --print-limit 20 python3 -m pytest -q -x -p no:cacheprovider \
      tests/plugins/test_plugin_enqueue_gpu.py tests/plugins/test_plugin_clones_gpu.py -k "not bf16" \
      >> "$OUT/sanitizer.log" 2>&1
    echo "compute-sanitizer $tool: exit $?" | tee -a "$OUT/sanitizer.log"
  done
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed|failed" "$OUT/sanitizer.log"
fi
[ -n "$KEEP_TRACES" ] || rm -f "$OUT"/*.trace.json
exit $status
