#!/usr/bin/env bash
# Version matrix: builds libtrtplugin++.so and the harness against each TensorRT header folder and runs the T2 tests
# (tests/plugins/test_plugin_library.py) against each build. One build folder: the kernels (no TensorRT types)
# compile once; each version rebuilds only the IPluginV3 glue and the harness.
#   plugins/check_versions.sh [INCLUDE_DIR ...]      default: every /opt/trt-*/include, oldest first
#   plugins/check_versions.sh --ends                  only the oldest and the newest of those (what CI runs)
# Header folders come from the public NVIDIA/TensorRT repository, never committed, e.g.
#   mkdir -p /opt/trt-v10.0.0 && git -C TensorRT archive v10.0.0 include | tar -x -C /opt/trt-v10.0.0
# Env: BUILD_DIR (default build/trt-versions), TRT_HELPER_CUDA_ARCHS (default 90), CUTLASS_DIR (else pip
# nvidia-cutlass's copy). Exit status: 0 when every version built and passed; 2 when no header folder was found.
set -uo pipefail
cd "$(dirname "$0")/.."
ends=0
[ "${1:-}" = "--ends" ] && { ends=1; shift; }
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  mapfile -t dirs < <(ls -d /opt/trt-*/include 2>/dev/null | sort -V)
fi
if [ ${#dirs[@]} -eq 0 ]; then
  echo "check_versions: no TensorRT header folders (/opt/trt-*/include or arguments): nothing checked"
  exit 2
fi
[ $ends -eq 1 ] && [ ${#dirs[@]} -gt 2 ] && dirs=("${dirs[0]}" "${dirs[-1]}")
build=${BUILD_DIR:-build/trt-versions}
archs=${TRT_HELPER_CUDA_ARCHS:-90}
mkdir -p "$build"
build=$(cd "$build" && pwd)
shopt -s nullglob

summary=()
status=0
for inc in "${dirs[@]}"; do
  log="$build/$(echo "$inc" | tr '/' '_').log"
  if ! cmake -S . -B "$build" -DTRT_INCLUDE_DIR="$inc" -DTRT_HELPER_CUDA_ARCHS="$archs" >"$log" 2>&1; then
    summary+=("$inc: configure FAILED (see $log)"); status=1; tail -5 "$log"; continue
  fi
  version=$(sed -n 's/.*building the plugins against TensorRT \([0-9.]*\).*/\1/p' "$log")
  if ! cmake --build "$build" -j"$(nproc)" >>"$log" 2>&1; then
    summary+=("TensorRT $version ($inc): build FAILED (see $log)"); status=1; grep -m5 -E "error" "$log"; continue
  fi
  # this build's library and harness, never an installed one (an editable install's import finder would win)
  harness=("$build"/plugins/_plugin_harness*.so)
  [ ${#harness[@]} -eq 1 ] || { summary+=("TensorRT $version ($inc): no harness built"); status=1; continue; }
  if TRT_HELPER_PLUGIN_LIB="$build/plugins/libtrtplugin++.so" TRT_HELPER_PLUGIN_HARNESS="${harness[0]}" \
      python3 -m pytest -q -p no:cacheprovider tests/plugins/test_plugin_library.py >>"$log" 2>&1; then
    summary+=("TensorRT $version ($inc): built, T2 $(tail -1 "$log" | sed 's/=//g; s/^ *//')")
  else
    summary+=("TensorRT $version ($inc): T2 FAILED (see $log)"); status=1; tail -15 "$log"
  fi
done
printf 'check_versions: %s\n' "${summary[@]}"
exit $status
