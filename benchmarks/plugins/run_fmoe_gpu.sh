#!/usr/bin/env bash
# FMoEExpert on a lent Hopper GPU, from the repository root (the run behind the 2026-12-02 figures in plugins/README):
# build the library for arch 90 (the Hopper block GEMM included), time each launch and kernel with
# benchmarks/plugins/fmoe_stages.cu, run every plugin's T3 tests, compute-sanitizer memcheck + racecheck on the fp16
# FMoE tests, then bench_plugins.py --only-fmoe and bench_moe_block.py, all with the kernels the stage sweep chose
# (unless FMOE_USE_TABLE=1). Results go to $OUT.
#   OUT=/tmp/fmoe CUTLASS_DIR=... TRT_INCLUDE_DIR=... [PACK=1] bash benchmarks/plugins/run_fmoe_gpu.sh
set -o pipefail
# PACK=1: $OUT ends up holding one results.tgz of everything (a lent machine returns only a few files from $OUT)
pack() {
  [ "${PACK:-0}" = 1 ] || return 0
  local t; t=$(mktemp -d)
  tar -czf "$t/results.tgz" -C "$OUT" . && find "$OUT" -mindepth 1 -delete && mv "$t/results.tgz" "$OUT/"
}
OUT=${OUT:-/tmp/fmoe}
W=$(mktemp -d)
mkdir -p "$OUT"
export TRT_HELPER_CUDA_ARCHS=${TRT_HELPER_CUDA_ARCHS:-90}
OUT=$W STEPS="build" bash benchmarks/plugins/run_gpu.sh > "$W/run_build.log" 2>&1 || { tail -20 "$W/run_build.log"; exit 1; }
cp "$W/device.txt" "$OUT/"
nvcc -std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a -DTRTH_HAVE_SM90_BLOCK=1 \
  -Iplugins/fmoeExpertPlugin -Iplugins/common -Ibenchmarks/plugins -isystem "$CUTLASS_DIR" benchmarks/plugins/fmoe_stages.cu \
  build/gpu/plugins/libtrtplugin_kernels.a -o "$W/fmoe_stages" || exit 1
timeout 120 "$W/fmoe_stages" "$OUT/fmoe_stages.json" "$W/choice.txt" > "$OUT/fmoe_stages.log" 2>&1
export TRT_HELPER_PLUGIN_LIB=$PWD/build/gpu/plugins/libtrtplugin++.so PYTHONPATH=$PWD PYTHONUNBUFFERED=1
# the tests and benchmarks run the kernels the sweep chose (the table's, once it names them; FMOE_USE_TABLE=1: the table)
if [ "${FMOE_USE_TABLE:-0}" != 1 ] && [ -s "$W/choice.txt" ]; then
  export TRT_HELPER_FMOE_GEMM=$(cat "$W/choice.txt")
  echo "TRT_HELPER_FMOE_GEMM=$TRT_HELPER_FMOE_GEMM (fmoe_stages' choice)" | tee "$OUT/choice.txt"
fi
timeout 300 python3 -m pytest -q -rs -m gpu tests/plugins -p no:cacheprovider 2>&1 | grep -vE "^generator seed" \
  > "$OUT/t3.log"
# FMOE_T3_KERNELS (space-separated TRT_HELPER_FMOE_GEMM lists, e.g. the 128-row block kernels of a
# TRT_HELPER_FMOE_TUNING=ON build): the FMoE tests again with each
: > "$OUT/t3_kernels.log"
for kernels in ${FMOE_T3_KERNELS:-}; do
  echo "=== TRT_HELPER_FMOE_GEMM=$kernels" >> "$OUT/t3_kernels.log"
  TRT_HELPER_FMOE_GEMM=$kernels timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider tests/plugins/test_plugin_enqueue_gpu.py \
    tests/plugins/test_plugin_graphs_gpu.py -k fmoe 2>&1 | grep -vE "^generator seed" | tail -5 >> "$OUT/t3_kernels.log"
done
: > "$OUT/sanitizer.log"
for tool in memcheck racecheck; do
  echo "=== compute-sanitizer --tool $tool" >> "$OUT/sanitizer.log"
  timeout 75 compute-sanitizer --tool $tool --print-limit 20 python3 -m pytest -q -x -p no:cacheprovider \
    tests/plugins/test_plugin_enqueue_gpu.py tests/plugins/test_plugin_graphs_gpu.py \
    -k "fmoe and fp16 and not gelu and not relu" >> "$OUT/sanitizer.log" 2>&1
  echo "compute-sanitizer $tool: exit $?" >> "$OUT/sanitizer.log"
done
timeout 150 python3 benchmarks/plugins/bench_plugins.py --only-fmoe --iters 100 --out "$OUT/bench.json" \
  --profile-dir "$W" > "$W/bench.log" 2>&1
cp "$W/fmoe_profile_8192x2048.txt" "$OUT/" 2>/dev/null
timeout 200 python3 benchmarks/plugins/bench_moe_block.py --iters 100 --out "$OUT/moe_block.json" > "$W/moe_block.log" 2>&1
tail -4 "$OUT/t3.log"; cat "$OUT/t3_kernels.log"; grep -E "SUMMARY" "$OUT/sanitizer.log"; grep -E "GPU-only" "$W/bench.log"; tail -3 "$W/moe_block.log"; grep -E "forward" "$OUT/fmoe_stages.log"
pack
