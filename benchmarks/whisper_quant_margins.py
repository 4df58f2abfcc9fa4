"""Are the clips where a quantized Whisper changes the transcript near-ties of the float model, and how close are
the others?

    python3 benchmarks/whisper_quant_margins.py [--systems int8,int8-gptq,...] [--out FILE.json]

For every fixture clip, greedy-decode with our float32 PyTorch model (whose transcripts equal our fp16 networks' on
all 33 clips: benchmarks/results/whisper_quant.json), then teacher-force its tokens (+ eot) through the same model
holding each system's quantized weights (benchmarks/whisper_quant.py's systems, as its --backend torch runs them).
Greedy decoding gives the float tokens exactly when the quantized model's argmax is the float token at every step:
per clip the smallest margin log p(float token) − max log p(other) over the steps is reported (negative: the clip
changes; the no-speech gate is not applied). At the first step where it is negative, the float model's own margin
between its token and the quantized model's choice, and where that falls among the float model's top-1 vs top-2
margins at every step of every clip (its percentile: a small one = a near-tie). faster-whisper int8 cannot be
measured this way (CTranslate2 does not expose its logits).
"""

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from whisper_quant import quantized_system, torch_system  # noqa: E402

from models.whisper.audio import load_audio, log_mel_spectrogram  # noqa: E402
from models.whisper.decoding import DecodingRules, TorchRunner, greedy_decode  # noqa: E402
from models.whisper.quantized import calibration_audio  # noqa: E402
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402

DATA = REPO / "tests" / "data" / "whisper"


@torch.no_grad()
def step_logprobs(model, mel, tokens, rules):
    """Log-probabilities (len(tokens) - len(prompt), vocab) of every greedy step, teacher-forced on `tokens`
    (prompt + generated + eot), with the decoding's suppression applied."""
    cross = model.decoder.cross_kv(model.encoder(mel))
    logits = model.decoder(torch.tensor([tokens]), *cross)[0][0, len(rules.prompt) - 1 : -1].float()
    logits[:, list(rules.suppress)] = -float("inf")
    logits[0, list(rules.begin_suppress)] = -float("inf")
    return logits.log_softmax(-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="int8", help="comma list of benchmarks/whisper_quant.py systems")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_quant_margins.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    path = default_model_path()
    model = load_model(path)
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    rules = DecodingRules.from_tokenizer(tokenizer)
    clips = [c["file"] for c in json.loads((DATA / "manifest.json").read_text())]
    mels = {clip: log_mel_spectrogram([load_audio(DATA / clip)]) for clip in clips}
    forced, margins = {}, []
    for clip, mel in mels.items():
        tokens = list(rules.prompt) + greedy_decode(TorchRunner(model), mel, rules)[0].tokens + [rules.eot]
        logprobs = step_logprobs(model, mel, tokens, rules)
        forced[clip] = (tokens, logprobs)
        top2 = logprobs.topk(2, -1).values
        margins.extend((top2[:, 0] - top2[:, 1]).tolist())
    ordered = torch.tensor(sorted(margins))
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([sys.executable, *sys.argv]),
        "device": f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}",
        "model": str(path),
        "steps": len(margins),
        "float_margin_quantiles": {q: round(float(ordered.quantile(q / 100)), 4) for q in (1, 5, 10, 50)},
        "systems": {},
    }
    for system in args.systems.split(","):
        quantized, options, _ = quantized_system(system, model, tokenizer, calibration_audio())
        quantized = torch_system(quantized, options)
        row = report["systems"][system] = {"min_margin": {}, "parted": {}}
        for clip, mel in mels.items():
            tokens, logprobs = forced[clip]
            q_logprobs = step_logprobs(quantized, mel, tokens, rules)
            chosen = torch.tensor(tokens[len(rules.prompt) :])
            own = q_logprobs.gather(1, chosen[:, None])[:, 0]
            other = q_logprobs.scatter(1, chosen[:, None], -float("inf")).amax(-1)
            margin = own - other
            row["min_margin"][clip] = round(float(margin.min()), 4)
            if margin.min() < 0:
                step = int((margin < 0).nonzero()[0])
                q_choice, fp_choice = int(q_logprobs[step].argmax()), int(chosen[step])
                float_margin = float(logprobs[step, fp_choice] - logprobs[step, q_choice])
                row["parted"][clip] = {
                    "step": step,
                    "float_token": tokenizer.decode([fp_choice]),
                    "quantized_token": tokenizer.decode([q_choice]),
                    "float_margin_logprob": round(float_margin, 4),
                    "quantized_margin_logprob": round(-float(margin[step]), 4),
                    "float_margin_percentile": round(100 * float((ordered < float_margin).float().mean()), 2),
                }
        row["identical"] = f"{len(mels) - len(row['parted'])}/{len(mels)}"
        print(
            system, row["identical"], {c: r["quantized_margin_logprob"] for c, r in row["parted"].items()}, flush=True
        )
        print("  closest kept:", sorted((m, c) for c, m in row["min_margin"].items() if m >= 0)[:4], flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
