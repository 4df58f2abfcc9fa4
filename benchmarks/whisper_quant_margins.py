"""Are the clips where a quantized Whisper changes the transcript near-ties of the float model?

    python3 benchmarks/whisper_quant_margins.py [--out FILE.json]

For every fixture clip with a reference text, greedy-decode with our float32 PyTorch model (whose transcripts equal our
fp16 networks' on all 33 clips: benchmarks/results/whisper_quant.json) and with the same model holding int8 weight-only
linears (the weights of `NetworkHelper(weights="int8")`). At the first token where they part, report the float
model's log-probability margin between its own choice and the int8 model's, and where that margin falls among the
float model's top-1 vs top-2 margins at every decoding step of every clip (its percentile: a small one = a near-tie).
The same for faster-whisper int8 vs float32 is not available step by step (CTranslate2 does not expose its logits),
so only our pair is measured.
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
from models.whisper.audio import load_audio, log_mel_spectrogram  # noqa: E402
from models.whisper.decoding import DecodingRules, TorchRunner, greedy_decode  # noqa: E402
from models.whisper.tokenizer import WhisperTokenizer  # noqa: E402
from models.whisper.weights import default_model_path, load_model  # noqa: E402
from trt_helper.quant import fake_quantized, quantize_linears  # noqa: E402

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
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "whisper_quant_margins.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    path = default_model_path()
    model = load_model(path)
    int8 = fake_quantized(model, quantize_linears(model, 8))
    tokenizer = WhisperTokenizer(path / "tokenizer.json")
    rules = DecodingRules.from_tokenizer(tokenizer)
    clips = [c for c in json.loads((DATA / "manifest.json").read_text()) if c["text"]]
    margins, parted = [], {}
    for clip in clips:
        mel = log_mel_spectrogram([load_audio(DATA / clip["file"])])
        fp_tokens, q_tokens = (greedy_decode(TorchRunner(m), mel, rules)[0].tokens for m in (model, int8))
        prompt = list(rules.prompt)
        logprobs = step_logprobs(model, mel, prompt + fp_tokens + [rules.eot], rules)
        top2 = logprobs.topk(2, -1).values
        margins.extend((top2[:, 0] - top2[:, 1]).tolist())
        if fp_tokens != q_tokens:
            step = next(i for i, (a, b) in enumerate(zip(fp_tokens + [rules.eot], q_tokens + [rules.eot])) if a != b)
            fp_choice, q_choice = (fp_tokens + [rules.eot])[step], (q_tokens + [rules.eot])[step]
            q_logprobs = step_logprobs(int8, mel, prompt + q_tokens + [rules.eot], rules)
            parted[clip["file"]] = {
                "step": step,
                "float_token": tokenizer.decode([fp_choice]),
                "int8_token": tokenizer.decode([q_choice]),
                "float_margin_logprob": round(float(logprobs[step, fp_choice] - logprobs[step, q_choice]), 4),
                "int8_margin_logprob": round(float(q_logprobs[step, q_choice] - q_logprobs[step, fp_choice]), 4),
            }
    ordered = torch.tensor(sorted(margins))
    for row in parted.values():
        row["float_margin_percentile"] = round(100 * float((ordered < row["float_margin_logprob"]).float().mean()), 2)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([sys.executable, *sys.argv]),
        "device": f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}",
        "model": str(path),
        "steps": len(margins),
        "float_margin_quantiles": {q: round(float(ordered.quantile(q / 100)), 4) for q in (1, 5, 10, 50)},
        "parted": parted,
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
