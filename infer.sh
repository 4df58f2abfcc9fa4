#!/bin/sh
# Run a plan: sh infer.sh MODEL [options]
#
#   sh infer.sh conformer_moe plans/conformer_moe.small.fp16.plan [--batch B --frames T --lengths ... --check]
#   sh infer.sh whisper ...
#   sh infer.sh llama --prompt TEXT [--chat] [--max-new-tokens N] [--backend auto|trt|reference|torch]
# Uses trt_helper.Engine where a TensorRT runtime and a supported GPU exist, else the reference executor,
# and prints which one ran.
set -e
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
PYTHON=${PYTHON:-python3}

model=${1:-}
[ $# -gt 0 ] && shift
case "$model" in
  conformer_moe) exec "$PYTHON" -m models.conformer_moe.infer "$@" ;;
  whisper) exec "$PYTHON" -m models.whisper.infer "$@" ;;
  llama) exec "$PYTHON" -m models.llama.infer "$@" ;;
  *) echo "usage: sh infer.sh conformer_moe|whisper|llama [options]   (got '${model}')" >&2; exit 2 ;;
esac
