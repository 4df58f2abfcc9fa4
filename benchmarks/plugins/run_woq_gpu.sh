#!/usr/bin/env bash
# WeightOnlyGemm on a lent GPU machine, from the repository root: build the plugin library with CMake (sm_90) — or,
# with PREBUILT_LIB (a libtrtplugin++.so built elsewhere for sm_90), only the Python harness, with the compiler directly
# (no CUTLASS headers needed) — the T2 + T3 tests, compute-sanitizer memcheck (racecheck on fewer cases) on small T3
# cases, the benchmark. Logs and results in $OUT.
#   OUT=/tmp/woq STEPS="build tests sanitize bench" [PREBUILT_LIB=...] [PACK=1] [SANITIZE_TIMEOUT=300] \
#     [WOQ_SHAPES=1280x5120,5120x1280] bash benchmarks/plugins/run_woq_gpu.sh
# Step "ab" (not by default): woq_variants.cu, the working tree's kernels against BASE=<folder holding another
# revision's weightOnlyGemmKernel.cu>, AB_MODE (one or more of) quick (M = 1, 16; W4 g128 and W8), large (M = 64, 128, 256; W4 g128 and W8),
# decode (M = 1, 4, 8, 16), small (the same on matrices of fewer strips than CTAs), whisper (the same on the Whisper-large
# shapes), full, reads (plain reads of one GEMM's weight bytes, no A/B) or ceiling (fp16 cuBLAS, the
# fastest plain read of the weight bytes and the working tree's kernel side by side, no A/B); with step "profile" too,
# Nsight Compute on PROFILE_KERNEL (regex, default woqWgmma) for PROFILE_CASE (default "4096 12288 64 4 128").
set -o pipefail
# PACK=1: $OUT ends up holding one results.tgz of everything (a lent machine returns only a few files from $OUT)
pack() {
  [ "${PACK:-0}" = 1 ] || return 0
  local t; t=$(mktemp -d)
  tar -czf "$t/results.tgz" -C "$OUT" . && find "$OUT" -mindepth 1 -delete && mv "$t/results.tgz" "$OUT/"
}
OUT=${OUT:-/tmp/woq}
STEPS=${STEPS:-"build tests sanitize bench"}
ITERS=${ITERS:-50}
SANITIZERS=${SANITIZERS:-"memcheck racecheck"}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
step() { [[ " $STEPS " == *" $1 "* ]]; }
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/device.txt"
date -u +%Y-%m-%dT%H:%M:%SZ | tee -a "$OUT/device.txt"
if step build; then
  if [ -n "$PREBUILT_LIB" ]; then
    suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    for cuda in "${CUDA_HOME:-}" /usr/local/cuda "$(dirname "$(dirname "$(command -v nvcc)")")"; do
      [ -f "$cuda/include/cuda_runtime_api.h" ] && break
    done
    c++ -O2 -shared -fPIC -std=c++17 $(python3 -m pybind11 --includes) -isystem "${TRT_INCLUDE_DIR:-$PWD/../.trt/include}" \
      -isystem "$cuda/include" plugins/harness/pluginHarness.cpp \
      -o "trt_helper/_plugin_harness$suffix" -ldl > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
    cp "$PREBUILT_LIB" trt_helper/
  else
    cmake -S . -B build/gpu -DTRT_INCLUDE_DIR="${TRT_INCLUDE_DIR:-$PWD/../.trt/include}" -DTRT_HELPER_CUDA_ARCHS=90 \
      -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 && cmake --build build/gpu -j 16 >> "$OUT/build.log" 2>&1 \
      || { tail -30 "$OUT/build.log"; exit 1; }
    cp build/gpu/plugins/*.so trt_helper/
  fi
fi
if step tests; then
  timeout 200 python3 -m pytest -q -rs -p no:cacheprovider tests/plugins/test_woq_gemm.py \
    tests/plugins/test_woq_gemm_gpu.py tests/plugins/test_plugin_library.py -k "woq or WeightOnlyGemm" 2>&1 \
    | tee "$OUT/tests.log" | grep -vE "^generator seed" | tail -25 || status=1
fi
if step sanitize; then
  : > "$OUT/sanitizer.log"
  for tool in $SANITIZERS; do
    cases="(small_odd_shapes and fp16) or k_split"
    [ $tool = racecheck ] && cases="(small_odd_shapes and fp16 and (40-208-0-4 or 1000-1024-128-8 or 8192-1088-64-4 or 12288-128-64-4 or 12288-128-64-8 or 256-64-0-4 or 2048-1088-0-4 or 2048-1152-128-4)) or k_split"
    echo "=== compute-sanitizer --tool $tool, -k '$cases'" >> "$OUT/sanitizer.log"
    timeout ${SANITIZE_TIMEOUT:-300} compute-sanitizer --tool $tool --print-limit 20 python3 -m pytest -q -x -p no:cacheprovider \
      tests/plugins/test_woq_gemm_gpu.py -k "$cases" >> "$OUT/sanitizer.log" 2>&1
    echo "compute-sanitizer $tool: exit $?" | tee -a "$OUT/sanitizer.log"
  done
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed|failed" "$OUT/sanitizer.log"
fi
if step ab; then
  # the working tree's kernels against another revision's weightOnlyGemmKernel.cu in $BASE (woq_variants.cu)
  flags="-std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Iplugins/common -Iplugins/weightOnlyGemmPlugin"
  flags90a="-std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a -DNDEBUG -ftz=true \
    -Iplugins/common -Iplugins/weightOnlyGemmPlugin -isystem $CUTLASS_DIR"
  base_objs="$OUT/woq_base.o" base_defs=
  [ -f "$BASE/woqWgmmaSm90.cu" ] && base_defs=-DTRTH_HAVE_WOQ_WGMMA
  nvcc -I"$BASE" $flags $base_defs -Dtrt_helper=trt_helper_base -DWOQ_BASE_WRAPPER -c benchmarks/plugins/woq_variants.cu \
    -o "$OUT/woq_base.o" > "$OUT/ab_build.log" 2>&1 || { tail -30 "$OUT/ab_build.log"; exit 1; }
  for f in woqBulkSm90 woqWgmmaSm90; do # the base revision's Hopper kernels, where it has them
    [ -f "$BASE/$f.cu" ] || continue
    fl=$flags; [ $f = woqWgmmaSm90 ] && fl=$flags90a
    nvcc -I"$BASE" $fl -Dtrt_helper=trt_helper_base -c "$BASE/$f.cu" -o "$OUT/base_$f.o" >> "$OUT/ab_build.log" 2>&1 || { tail -30 "$OUT/ab_build.log"; exit 1; }
    base_objs="$base_objs $OUT/base_$f.o"
  done
  # AB_NEW_DEFS: -D flags of the working tree's kernels (e.g. -DTRTH_WOQ_WGMMA_MIN_TOKENS=9)
  nvcc $flags90a ${AB_NEW_DEFS:-} -c plugins/weightOnlyGemmPlugin/woqWgmmaSm90.cu -o "$OUT/woq_wgmma.o" >> "$OUT/ab_build.log" 2>&1 \
    && nvcc $flags ${AB_NEW_DEFS:-} -DTRTH_HAVE_WOQ_WGMMA benchmarks/plugins/woq_variants.cu \
      plugins/weightOnlyGemmPlugin/weightOnlyGemmKernel.cu plugins/weightOnlyGemmPlugin/woqBulkSm90.cu \
      "$OUT/woq_wgmma.o" $base_objs -lcublas -o "$OUT/woq_variants" >> "$OUT/ab_build.log" 2>&1 \
    || { tail -30 "$OUT/ab_build.log"; exit 1; }
  rm -f $base_objs "$OUT/woq_wgmma.o"
  run=0
  for mode in ${AB_MODE:-quick}; do # one or more modes, one after the other; a mode named again: woq_ab_<mode>_<n>.*
    run=$((run + 1)) name=woq_ab_$mode
    [ -e "$OUT/$name.log" ] && name=${name}_$run
    if [ "$mode" = reads ]; then
      timeout ${AB_TIMEOUT:-300} "$OUT/woq_variants" reads 2>&1 | tee "$OUT/$name.log" || status=1
      continue
    fi
    timeout ${AB_TIMEOUT:-300} "$OUT/woq_variants" "$OUT/$name.json" $mode 2>&1 | tee "$OUT/$name.log" || status=1
  done
  if step profile; then # Nsight Compute, full set, on the kernels of one case: PROFILE_CASE="K N M bits group"
    timeout ${PROFILE_TIMEOUT:-240} "${NCU:-/usr/local/cuda/bin/ncu}" --kernel-name "regex:${PROFILE_KERNEL:-woqWgmma}" \
      --launch-count 2 --set full "$OUT/woq_variants" profile ${PROFILE_CASE:-4096 12288 64 4 128} > "$OUT/woq_ncu.txt" 2>&1 \
      || status=1
    grep -E "Duration|Throughput|Issue Slots|Stall|Warp Cycles|Registers|Achieved Occupancy" "$OUT/woq_ncu.txt" | head -40
  fi
  rm -f "$OUT/woq_variants"
fi
if step bench; then
  timeout 540 python3 benchmarks/plugins/bench_plugins.py --woq-out "$OUT/woq_gemm.json" --iters "$ITERS" \
    ${WOQ_SHAPES:+--woq-shapes "$WOQ_SHAPES"} 2>&1 \
    | tee "$OUT/bench.log" || status=1
fi
pack
exit $status
