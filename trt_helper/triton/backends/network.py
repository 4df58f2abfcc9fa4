"""A plan's network as a CPU Python-backend model: same name, inputs and outputs as the ``tensorrt_plan`` model it
stands in for, computed by the PyTorch modules (``executor: torch``) or trt_helper's reference executor
(``executor: reference``). Parameters (written by ``repository.export_plan``): ``family`` (whisper, conformer_moe),
``plan`` (its sidecar says how the network was built) and the family's own.
"""

from __future__ import annotations

import torch

from .common import error_response, inputs_of, parameters, response

TORCH_DTYPES = {
    "TYPE_FP32": torch.float32,
    "TYPE_FP16": torch.float16,
    "TYPE_BF16": torch.bfloat16,
    "TYPE_INT32": torch.int32,
    "TYPE_INT64": torch.int64,
    "TYPE_BOOL": torch.bool,
}


def whisper_runner(params: dict):
    """inputs -> outputs of one Whisper network (models.whisper.networks names them)."""
    from models.whisper.networks import DTYPES, Profile, all_networks
    from models.whisper.weights import load_model

    network, dtype = params["network"], DTYPES[params["precision"]]
    model = load_model(params["weights"])
    if params["executor"] == "reference":
        profile = Profile(int(params["max_batch"]), int(params["opt_batch"]))
        helper = all_networks(model, dtype, profile, [network])[network]
        return helper.reference
    model = model.to(dtype)
    decoder = model.decoder

    def decode(inputs):
        past = (inputs["past_k"], inputs["past_v"]) if "past_k" in inputs else ()
        logits, present_k, present_v = decoder(inputs["tokens"].long(), inputs["cross_k"], inputs["cross_v"], *past)
        return {"logits": logits[:, -1], "present_k": present_k, "present_v": present_v}

    runs = {
        "encoder": lambda inputs: {"audio_features": model.encoder(inputs["mel"].to(dtype))},
        "cross_kv": lambda inputs: dict(zip(("cross_k", "cross_v"), decoder.cross_kv(inputs["audio_features"]))),
        "decoder": decode,
        "decoder_step": decode,
    }
    return runs[network]


def conformer_runner(params: dict):
    """feat, feat_len -> logits, out_len of the conformer-MoE plan's network (rebuilt from its sidecar)."""
    from models.conformer_moe.build import load_model, make_helper
    from models.conformer_moe.network import Profile
    from trt_helper import sidecar

    meta = sidecar.read(params["plan"])
    model = load_model(meta["config"], meta["seed"], meta["weights"])
    if params["executor"] == "reference":
        with torch.no_grad():
            helper = make_helper(model, meta["precision"], Profile.parse(meta["profile"]), meta["impl"])
        return helper.reference

    def run(inputs):
        logits, out_len = model(inputs["feat"], inputs["feat_len"])
        return {"logits": logits, "out_len": out_len}

    return run


RUNNERS = {"whisper": whisper_runner, "conformer_moe": conformer_runner}


class NetworkModel:
    """Triton model: batches requests along dim 0 when the config batches (max_batch_size > 0), else one by one."""

    def initialize(self, args):
        config, params = parameters(args)
        self.name = config["name"]
        self.batched = config["max_batch_size"] > 0
        self.inputs = [entry["name"] for entry in config["input"]]
        self.outputs = {entry["name"]: TORCH_DTYPES[entry["data_type"]] for entry in config["output"]}
        self.run = RUNNERS[params["family"]](params)

    @torch.no_grad()
    def _run(self, inputs: dict) -> dict:
        outputs = self.run(inputs)
        return {name: outputs[name].to(dtype) for name, dtype in self.outputs.items()}

    def execute(self, requests):
        given = [inputs_of(request, self.inputs) for request in requests]
        groups = [given] if self.batched else [[one] for one in given]
        responses = []
        for group in groups:
            try:
                stacked = {name: torch.cat([one[name] for one in group]) for name in self.inputs}
                outputs = self._run(stacked)
                sizes = [one[self.inputs[0]].shape[0] for one in group] if self.batched else [None]
                start = 0
                for size in sizes:
                    part = outputs if size is None else {k: v[start : start + size] for k, v in outputs.items()}
                    responses.append(response(part))
                    start += size or 0
            except Exception as error:  # one bad batch answers its own requests with the error, the model lives on
                shapes = {name: [tuple(one[name].shape) for one in group if name in one] for name in self.inputs}
                responses.extend(
                    error_response(f"{self.name}: {type(error).__name__}: {error} (inputs {shapes})") for _ in group
                )
        return responses
