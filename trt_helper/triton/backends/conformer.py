"""The conformer-MoE as one Triton model: each request is one utterance's ``FEATURES`` (1, T, F) (CMVN-normalised
fbank, as models.conformer_moe.infer takes); the requests Triton batched together are zero-padded to the longest
into the plan's ``feat`` (B, T_max, F) and ``feat_len`` (B,), run through the plan model (BLS), and each gets its own
``LOGITS`` (1, T', V) cut to its ``OUT_LEN``. Utterances outside the plan's profile get an error naming the bounds.
"""

from __future__ import annotations

import torch

from .common import bls, error_response, inputs_of, parameters, response


class ConformerModel:
    """Triton model; parameters: ``plan_model`` (the plan's model name), ``min_frames``/``max_frames`` (profile)."""

    def initialize(self, args):
        _, params = parameters(args)
        self.plan_model = params["plan_model"]
        self.min_frames, self.max_frames = int(params["min_frames"]), int(params["max_frames"])

    def _features(self, request) -> torch.Tensor:
        feat = inputs_of(request, ["FEATURES"])["FEATURES"]
        if feat.dim() != 3 or feat.shape[0] != 1:
            raise ValueError(f"conformer_moe: FEATURES must be one utterance (1, T, F), got {tuple(feat.shape)}")
        if not self.min_frames <= feat.shape[1] <= self.max_frames:
            raise ValueError(
                f"conformer_moe: {feat.shape[1]} frames is outside the plan's profile "
                f"[{self.min_frames}, {self.max_frames}]"
            )
        return feat[0]

    def execute(self, requests):
        responses, utterances = [None] * len(requests), []
        for index, request in enumerate(requests):
            try:
                utterances.append((index, self._features(request)))
            except ValueError as error:
                responses[index] = error_response(str(error))
        if not utterances:
            return responses
        lengths = torch.tensor([feat.shape[0] for _, feat in utterances], dtype=torch.int32)
        feat = torch.nn.utils.rnn.pad_sequence([feat for _, feat in utterances], batch_first=True)
        try:
            # feat_len is (B,) to the plan; its config writes it [1] with reshape [], so callers send (B, 1)
            out = bls(self.plan_model, {"feat": feat, "feat_len": lengths[:, None]}, ("logits", "out_len"))
        except Exception as error:
            for index, _ in utterances:
                responses[index] = error_response(f"conformer_moe: {type(error).__name__}: {error}")
            return responses
        out_len = out["out_len"].reshape(-1)
        for row, (index, _) in enumerate(utterances):
            n = int(out_len[row])
            responses[index] = response(
                {"LOGITS": out["logits"][row : row + 1, :n].float(), "OUT_LEN": out_len[row : row + 1].to(torch.int32)}
            )
        return responses
