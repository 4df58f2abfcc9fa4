#!/usr/bin/env bash
# T3 on a lent GPU machine, from the repository root: build the plugin library and harness with CMake into
# build/gpu (or only the harness when PREBUILT_LIB names a libtrtplugin++.so built elsewhere for sm_90), time
# FMoEExpert's launches and sweep its grouped-GEMM kernels (STAGES_BIN: benchmarks/plugins/fmoe_stages.cu built
# against a TRT_HELPER_FMOE_TUNING library; the later steps then run with the fastest checked kernels), run the GPU
# tests (T3, CUDA-graph capture tests included), compute-sanitizer memcheck + racecheck on them (not the clone-memory
# test: the sanitizer allocates device memory of its own), and the benchmarks.
# Logs and results go to $OUT.
#   OUT=/tmp/t3 STEPS="build stages tests bench block sm90 sanitize" [PREBUILT_LIB=...] [STAGES_BIN=...] \
#     bash benchmarks/plugins/run_gpu.sh
# Env: TRT_INCLUDE_DIR (default $PWD/tensorrt-include), CUTLASS_DIR, BENCH_ARGS / BLOCK_ARGS (extra arguments of
# bench_plugins.py / bench_moe_block.py), SANITIZE_K (pytest -k of the sanitizer runs), SANITIZE_TIMEOUT (s per tool),
# TRT_HELPER_FMOE_TUNING=ON (build the sweep's kernels too: the stages and sm90 steps need them).
set -o pipefail
OUT=${OUT:-/tmp/t3}
STEPS=${STEPS:-"build tests bench block sanitize"}
mkdir -p "$OUT"
export TRT_INCLUDE_DIR=${TRT_INCLUDE_DIR:-$PWD/tensorrt-include} TRT_HELPER_CUDA_ARCHS=${TRT_HELPER_CUDA_ARCHS:-90}
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
step() { [[ " $STEPS " == *" $1 "* ]]; }
status=0

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/device.txt"
date -u +%Y-%m-%dT%H:%M:%SZ | tee -a "$OUT/device.txt"
if step build; then
  target=()
  [ -n "$PREBUILT_LIB" ] && target=(--target _plugin_harness)
  { cmake -S . -B build/gpu -DTRT_INCLUDE_DIR="$TRT_INCLUDE_DIR" -DTRT_HELPER_CUDA_ARCHS="$TRT_HELPER_CUDA_ARCHS" \
      -DTRT_HELPER_FMOE_TUNING="${TRT_HELPER_FMOE_TUNING:-OFF}" -DCMAKE_BUILD_TYPE=Release \
      && time cmake --build build/gpu -j"$(nproc)" "${target[@]}"; } > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; exit 1; }
  grep -E "trt_helper:|warning" "$OUT/build.log" | head -20
  cp build/gpu/plugins/_plugin_harness*.so trt_helper/
fi
export TRT_HELPER_PLUGIN_LIB=${PREBUILT_LIB:-$PWD/build/gpu/plugins/libtrtplugin++.so}
python3 -c "from trt_helper import plugins; print('library', plugins.find_plugin_library(), 'harness', plugins.load_harness())"
if step stages; then
  timeout 150 "$STAGES_BIN" "$OUT/fmoe_stages.json" "$OUT/fmoe_gemm_choice.txt" 2>&1 | tee "$OUT/fmoe_stages.log" \
    || status=1
  if [ -s "$OUT/fmoe_gemm_choice.txt" ]; then
    TRT_HELPER_FMOE_GEMM=$(cat "$OUT/fmoe_gemm_choice.txt")
    export TRT_HELPER_FMOE_GEMM
    echo "TRT_HELPER_FMOE_GEMM=$TRT_HELPER_FMOE_GEMM for the later steps"
  fi
fi
if step tests; then
  timeout 300 python3 -m pytest -q -rs -s -m gpu tests/plugins -p no:cacheprovider 2>&1 | tee "$OUT/t3_tests.log" \
    | grep -vE "^generator seed" | tail -25 || status=1
fi
if step bench; then
  timeout 300 python3 benchmarks/plugins/bench_plugins.py --out "$OUT/bench.json" --profile-dir "$OUT" $BENCH_ARGS 2>&1 \
    | tee "$OUT/bench.log" || status=1
fi
if step block; then
  timeout 240 python3 benchmarks/plugins/bench_moe_block.py --out "$OUT/moe_block.json" $BLOCK_ARGS 2>&1 \
    | tee "$OUT/moe_block.log" || status=1
fi
if step sm90; then
  # the Hopper ptr-array kernel instead of the table's Ampere kernels (needs a TRT_HELPER_FMOE_TUNING build for arch 90)
  hopper=sm90_64x128_pingpong,sm90_64x128_pingpong,sm90_64x128_pingpong,sm90_64x128_pingpong
  TRT_HELPER_FMOE_GEMM=$hopper timeout 200 python3 -m pytest -q -rs -m gpu tests/plugins -k fmoe -p no:cacheprovider \
    2>&1 | tee "$OUT/t3_tests_sm90.log" | tail -3 || status=1
  TRT_HELPER_FMOE_GEMM=$hopper timeout 200 python3 benchmarks/plugins/bench_plugins.py --only-fmoe \
    --out "$OUT/bench_sm90.json" $BENCH_ARGS 2>&1 | tee "$OUT/bench_sm90.log" | grep -E "FMoE|GPU-only" || status=1
fi
if step sanitize; then
  : > "$OUT/sanitizer.log"
  for tool in memcheck racecheck; do
    echo "=== compute-sanitizer --tool $tool" >> "$OUT/sanitizer.log"
    timeout "${SANITIZE_TIMEOUT:-170}" compute-sanitizer --tool $tool --print-limit 20 python3 -m pytest -q -x -p no:cacheprovider \
      tests/plugins/test_plugin_enqueue_gpu.py tests/plugins/test_plugin_graphs_gpu.py -k "${SANITIZE_K:-not bf16 and not 8x1024}" \
      >> "$OUT/sanitizer.log" 2>&1
    echo "compute-sanitizer $tool: exit $?" | tee -a "$OUT/sanitizer.log"
  done
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed|failed" "$OUT/sanitizer.log"
fi
[ -n "$KEEP_TRACES" ] || rm -f "$OUT"/*.trace.json
exit $status
