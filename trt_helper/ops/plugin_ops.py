"""Ops with a native path and a plugin path (the trt_helper plugin library ``libtrtplugin++.so``).

Every op takes ``impl``: ``"native"`` (TensorRT layers only: select, softmax, top-k, matrix multiply …; what the
reference executor evaluates and TensorRT-RTX builds), ``"plugin"`` (one plugin layer; needs a backend with
``add_plugin_v3``, i.e. standard TensorRT, and the library) or ``"auto"`` (the plugin when both are there, else
native). Lengths are int32 ``(B,)`` tensors; positions ``t >= lengths[b]`` are padding.

Example:
    >>> probs = helper.addMaskedSoftmax(scores, lengths, scale=0.125)          # (B, H, Tq, Tk)
    >>> x, pos_emb = helper.addRelPositionalEncoding(model.pos_enc, x)
    >>> y = helper.addFMoE(moe.experts, x, expert_idx, score=gate_value, lengths=lengths)
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: ``act`` field of the FMoEExpert plugin per activation module type
_MOE_ACTIVATIONS = {nn.SiLU: 0, nn.ReLU: 1, nn.GELU: 2}
#: WeNet Conv2dSubsampling{4,6,8}: the (kernel, stride) of each time-axis convolution
_SUBSAMPLING = {4: ((3, 2), (3, 2)), 6: ((3, 2), (5, 3)), 8: ((3, 2), (3, 2), (3, 2))}
_LAYOUTS = {"BCT": 0, "BTC": 1}


class PluginOps:
    """addMaskedSoftmax, addMaskedFill, addSubsampleLengths, addRelPositionalEncoding, addRouterTop1, addFMoE, and
    the plugin path of addLayerNorm; the choice between native TensorRT layers and plugin layers (``impl=``)."""

    def _resolve_impl(self, impl: str, op: str) -> str:
        """``"native"`` or ``"plugin"`` for ``impl`` in ``auto | native | plugin``.

        ``auto`` takes the plugin when the backend can add plugin layers and the plugin library loads.
        """
        if impl not in ("auto", "native", "plugin"):
            raise ValueError(f"{self._where(op)}: impl must be 'auto', 'native' or 'plugin', got {impl!r}")
        if impl == "native":
            return "native"
        if not self.backend.can_add_plugin_layers:
            if impl == "plugin":
                raise RuntimeError(f"{self._where(op)}: impl='plugin' needs a backend with plugin layers; "
                                   f"{self.backend.trt.__name__} {self.backend.version} has no add_plugin_v3 "
                                   f"(use impl='native' or install standard TensorRT)")
            return "native"
        from ..plugins import plugin_library_available

        available = plugin_library_available()
        if impl == "plugin" and not available:
            raise RuntimeError(f"{self._where(op)}: impl='plugin' but libtrtplugin++.so was not found or did not load")
        return "plugin" if available else "native"

    def _plugin_outputs(self, plugin: str, fields: dict, inputs: list, op: str, name: str | None) -> list:
        """Add plugin ``plugin`` on ``inputs``; its outputs."""
        from ..plugins import add_plugin_layer

        layer = add_plugin_layer(self, plugin, fields, inputs, op, name)
        return [layer.get_output(i) for i in range(layer.num_outputs)]

    def _check_lengths(self, lengths, op):
        self._check_rank(lengths, op, (1,), "lengths")
        if self.torch_dtype(lengths) != torch.int32:
            raise TypeError(f"{self._where(op)}: lengths must be int32 (B,), got {self.torch_dtype(lengths)} "
                            f"{self.shape(lengths)}")

    def _time_mask(self, lengths, like, time_dim, keep_dims, op, name):
        """bool mask ``t < lengths[b]`` over ``like``'s dim ``time_dim``, unsqueezed so that the batch and time
        axes sit at dims 0 and ``keep_dims``'s time position of a tensor of rank ``len(like.shape)``."""
        mask = self.addMaskFromLengths(lengths, self.addShapeOf(like, time_dim, name=f"{name}_time"),
                                       name=f"{name}_mask")
        rank = len(like.shape)
        others = [d for d in range(rank) if d not in (0, keep_dims)]
        return self.addUnsqueeze(mask, others, name=f"{name}_mask_b") if others else mask

    # ------------------------------------------------------------------------------------------------ LayerNorm
    def _plugin_layer_norm(self, module: nn.LayerNorm, x, path: str):
        """The LayerNorm plugin for ``addLayerNorm(impl="plugin")`` (normalises the last dim; eps honoured)."""
        shape = tuple(module.normalized_shape)
        if len(shape) != 1:
            raise ValueError(f"addLayerNorm at '{path}': the LayerNorm plugin normalises the last dim only; "
                             f"normalized_shape {shape} needs impl='native'")
        dtype = self.torch_dtype(x)
        gamma = module.weight if module.weight is not None else torch.ones(shape)
        beta = module.bias if module.bias is not None else torch.zeros(shape)
        inputs = [x, self.addConstant(gamma.detach(), dtype=dtype, name="gamma"),
                  self.addConstant(beta.detach(), dtype=dtype, name="beta")]
        return self._plugin_outputs("LayerNorm", {"eps": float(module.eps)}, inputs, "addLayerNorm", "norm")[0]

    # ----------------------------------------------------------------------------------------- masked softmax
    def addMaskedSoftmax(self, scores, lengths, scale: float, impl: str = "auto", name=None):
        """Attention softmax with a key-length mask: ``softmax(scale * scores)`` over keys ``k < lengths[b]`` of
        scores (B, ..., Tk), exactly 0 for the other keys; a row with no valid key is all zeros (never NaN).
        Lengths beyond Tk count as Tk. Softmax runs in fp32 inside fp16/bf16 networks (``fp32_islands``).

        Example:
            >>> probs = helper.addMaskedSoftmax(scores, lengths, 1 / math.sqrt(d_k))   # WeNet's masked softmax
        """
        op = "addMaskedSoftmax"
        self._check_float(scores, op, "scores")
        if len(scores.shape) < 2:
            raise ValueError(f"{self._where(op)}: scores must be (B, ..., Tk), got {self.shape(scores)}")
        self._check_lengths(lengths, op)
        scale = float(scale)
        if not math.isfinite(scale):
            raise ValueError(f"{self._where(op)}: scale must be finite, got {scale}")
        name = name or "masked_softmax"
        if self._resolve_impl(impl, op) == "plugin":
            return self._plugin_outputs("AttMaskedSoftmax", {"scale": scale}, [scores, lengths], op, name)[0]
        rank = len(scores.shape)
        mask = self._time_mask(lengths, scores, rank - 1, rank - 1, op, name)

        def masked_softmax(t):
            logits = self.addWhere(mask, self.addMul(t, scale, name=f"{name}_scale"), -math.inf, name=f"{name}_fill")
            probs = self.addSoftmax(logits, -1, name=f"{name}_softmax")
            return self.addWhere(mask, probs, 0.0, name=name)

        return self._in_fp32(scores, masked_softmax, name)

    # -------------------------------------------------------------------------------------------- masked fill
    def addMaskedFill(self, x, lengths, value: float, layout: str = "BCT", impl: str = "auto", name=None):
        """``x.masked_fill(t >= lengths[b], value)`` for x (B, C, T) (``layout="BCT"``) or (B, T, C) (``"BTC"``).

        Example:
            >>> x = helper.addMaskedFill(x, lengths, 0.0, layout="BCT")   # the conformer conv module's padding
        """
        op = "addMaskedFill"
        self._check_rank(x, op, (3,))
        self._check_float(x, op)
        self._check_lengths(lengths, op)
        if layout not in _LAYOUTS:
            raise ValueError(f"{self._where(op)}: layout must be 'BCT' or 'BTC', got {layout!r}")
        value = float(value)
        name = name or "masked_fill"
        if self._resolve_impl(impl, op) == "plugin":
            fields = {"fill": value, "layout": _LAYOUTS[layout]}
            return self._plugin_outputs("MaskedFill", fields, [x, lengths], op, name)[0]
        time_dim = 2 if layout == "BCT" else 1
        return self.addWhere(self._time_mask(lengths, x, time_dim, time_dim, op, name), x, value, name=name)

    # ------------------------------------------------------------------------------------ subsampled lengths
    def addSubsampleLengths(self, lengths, factor: int = 4, impl: str = "auto", name=None):
        """Lengths after WeNet's Conv2dSubsampling{4,6,8}: ``((L - 1) // 2 - 1) // 2`` for ×4 (each convolution
        maps L to ``max(0, (L - kernel) // stride + 1)``). int32 (B,) → int32 (B,).

        Example:
            >>> sub_len = helper.addSubsampleLengths(feat_len, 4)
        """
        op = "addSubsampleLengths"
        self._check_lengths(lengths, op)
        if factor not in _SUBSAMPLING:
            raise ValueError(f"{self._where(op)}: factor must be 4, 6 or 8, got {factor!r}")
        name = name or "subsample_lengths"
        if self._resolve_impl(impl, op) == "plugin":
            return self._plugin_outputs("MaskConv2dSubsample", {"factor": int(factor)}, [lengths], op, name)[0]
        out = lengths
        for i, (kernel, stride) in enumerate(_SUBSAMPLING[factor]):
            # (L - k) // s + 1 == (L - k + s) // s, clamped at 0 first so that the division sees no negatives
            shifted = self.addMaximum(self.addSub(out, kernel - stride, name=f"{name}_{i}_shift"), 0,
                                      name=f"{name}_{i}_clamp")
            out = self.addFloorDiv(shifted, stride, name=f"{name}_{i}" if i + 1 < len(_SUBSAMPLING[factor]) else name)
        return out

    # --------------------------------------------------------------------------------- positional encoding
    def addRelPositionalEncoding(self, module: nn.Module, x, impl: str = "auto", name=None):
        """WeNet's RelPositionalEncoding at inference: x (B, T, D) → ``(x * module.xscale, module.pe[:, :T])``;
        ``module.pe`` is the (1, max_len, D) table. T > max_len fails at run time (plugin) or in the slice.

        Example:
            >>> x, pos_emb = helper.addRelPositionalEncoding(model.encoder.pos_enc, x)
        """
        op = "addRelPositionalEncoding"
        path = self.module_path(module)
        self._scope.append(path)
        try:
            self._check_rank(x, op, (3,))
            self._check_float(x, op)
            pe = getattr(module, "pe", None)
            if not isinstance(pe, torch.Tensor) or pe.dim() != 3 or pe.shape[0] != 1:
                raise TypeError(f"{self._where(op)}: module needs a (1, max_len, D) tensor 'pe', got "
                                f"{type(module).__name__} with pe={getattr(pe, 'shape', pe)}")
            dim = self.shape(x)[2]
            if dim != -1 and dim != pe.shape[2]:
                raise ValueError(f"{self._where(op)}: x {self.shape(x)} has D={dim}, the table has {pe.shape[2]}")
            scale = float(getattr(module, "xscale", math.sqrt(pe.shape[2])))
            dtype = self.torch_dtype(x)
            table = self.addConstant(pe.detach(), dtype=dtype, name="pe")
            if self._resolve_impl(impl, op) == "plugin":
                out = tuple(self._plugin_outputs("RelPositionalEncoding", {"scale": scale}, [x, table], op,
                                                 name or "rel_pos"))
            else:
                pos = self.addSlice(table, 1, 0, self.addShapeOf(x, 1, name="frames"), name="pos_emb")
                out = (self.addMul(x, scale, name=name or "xscale"), pos)
        finally:
            self._scope.pop()
        self.module_outputs[path] = out
        return out

    # ----------------------------------------------------------------------------------------- router top-1
    def addRouterTop1(self, logits, lengths, impl: str = "auto", name=None):
        """Top-1 router gate: ``softmax(logits).max(-1, keepdim=True)`` for logits (B, T, E) → (value (B, T, 1),
        int32 index (B, T, 1)); padded tokens get value 0 and index 0. Softmax in fp32 inside fp16 networks.

        Example:
            >>> gate_value, gate_idx = helper.addRouterTop1(router_logits, lengths)
        """
        op = "addRouterTop1"
        self._check_rank(logits, op, (3,), "logits")
        self._check_float(logits, op, "logits")
        self._check_lengths(lengths, op)
        name = name or "router_top1"
        if self._resolve_impl(impl, op) == "plugin":
            value, index = self._plugin_outputs("SoftmaxTopK", {}, [logits, lengths], op, name)
            return value, index
        value, index = self.addTopK(self.addSoftmax(logits, -1, name=f"{name}_probs"), 1, -1, name=f"{name}_top1")
        mask = self._time_mask(lengths, logits, 1, 1, op, name)
        return (self.addWhere(mask, value, 0.0, name=f"{name}_value"),
                self.addWhere(mask, index, 0, name=f"{name}_index"))

    # ---------------------------------------------------------------------------------------------------- MoE
    def addFMoE(self, moe_module: nn.Module, x, expert_idx, score=None, lengths=None, impl: str = "auto", name=None):
        """Top-1 mixture-of-experts feed-forward, FastMoE semantics: for each token,
        ``y = (act(x·W1[e]ᵀ + b1[e])·W2[e]ᵀ + b2[e]) * score``, e = ``expert_idx``; padded tokens give 0.

        ``moe_module`` (or its ``.experts``) has ``w_1``/``w_2`` with FMoELinear weights ``(E, out, in)`` and biases
        ``(E, out)``, and an optional ``activation`` (SiLU — the default —, ReLU or GELU). x (B, T, D);
        expert_idx int32 (B, T) or (B, T, 1); score (B, T) or (B, T, 1) like x; lengths int32 (B,).
        The native path runs every expert on every token (E× the FLOPs, no data-dependent shapes) and keeps each
        token's own expert; ids outside [0, E) give 0 there, NaN and an error status in the plugin.

        Example:
            >>> y = helper.addFMoE(moe.experts, x, gate_idx, score=gate_value, lengths=lengths)
        """
        op = "addFMoE"
        experts = getattr(moe_module, "experts", moe_module)
        w_1, w_2 = getattr(experts, "w_1", None), getattr(experts, "w_2", None)
        path = self.module_path(moe_module)
        self._scope.append(path)
        try:
            if w_1 is None or w_2 is None or w_1.weight.dim() != 3 or w_2.weight.dim() != 3:
                raise TypeError(f"{self._where(op)}: expected experts with w_1/w_2 weights (E, out, in), got "
                                f"{type(experts).__name__}")
            num_experts, hidden, dim = w_1.weight.shape
            if tuple(w_2.weight.shape) != (num_experts, dim, hidden):
                raise ValueError(f"{self._where(op)}: w_2 must be {(num_experts, dim, hidden)}, got "
                                 f"{tuple(w_2.weight.shape)}")
            activation = getattr(experts, "activation", nn.SiLU())
            act = _MOE_ACTIVATIONS.get(type(activation))
            if act is None or (isinstance(activation, nn.GELU) and activation.approximate != "none"):
                raise TypeError(f"{self._where(op)}: expert activation must be SiLU, ReLU or GELU (exact), got "
                                f"{activation}")
            self._check_rank(x, op, (3,))
            self._check_float(x, op)
            if self.shape(x)[2] not in (-1, dim):
                raise ValueError(f"{self._where(op)}: x {self.shape(x)} must end with D={dim}")
            self._check_tensor(expert_idx, op, "expert_idx")
            if self.torch_dtype(expert_idx) != torch.int32 or len(expert_idx.shape) not in (2, 3):
                raise TypeError(f"{self._where(op)}: expert_idx must be int32 (B, T) or (B, T, 1), got "
                                f"{self.torch_dtype(expert_idx)} {self.shape(expert_idx)}")
            index = expert_idx if len(expert_idx.shape) == 3 else self.addUnsqueeze(expert_idx, 2, name="expert_idx")
            gate = None
            if score is not None:
                self._check_float(score, op, "score")
                if score.dtype != x.dtype or len(score.shape) not in (2, 3):
                    raise TypeError(f"{self._where(op)}: score must be (B, T) or (B, T, 1) of x's dtype "
                                    f"{self.torch_dtype(x)}, got {self.torch_dtype(score)} {self.shape(score)}")
                gate = score if len(score.shape) == 3 else self.addUnsqueeze(score, 2, name="score")
            if lengths is not None:
                self._check_lengths(lengths, op)
            name = name or "moe"
            dtype = self.torch_dtype(x)
            if self._resolve_impl(impl, op) == "plugin":
                weights = [self.addConstant(t.detach(), dtype=dtype, name=n) for t, n in
                           ((w_1.weight, "w_1"), (w_1.bias, "b_1"), (w_2.weight, "w_2"), (w_2.bias, "b_2"))]
                inputs = [x, index] + ([gate] if gate is not None else []) + ([lengths] if lengths is not None else [])
                fields = {"num_experts": int(num_experts), "hidden": int(hidden), "act": act,
                          "has_score": int(gate is not None), "has_lengths": int(lengths is not None)}
                out = self._plugin_outputs("FMoEExpert", fields, inputs + weights, op, name)[0]
            else:
                out = self._all_experts(x, index, w_1, w_2, act, num_experts, name)
                if gate is not None:
                    out = self.addMul(out, gate, name=f"{name}_gated")
                if lengths is not None:
                    out = self.addWhere(self._time_mask(lengths, x, 1, 1, op, name), out, 0.0, name=name)
        finally:
            self._scope.pop()
        self.module_outputs[path] = out
        return out

    def _all_experts(self, x, index, w_1, w_2, act, num_experts, name):
        """Every expert on every token, (E, B, T, ·), then each token's own expert: (B, T, D)."""
        dtype = self.torch_dtype(x)
        rows = self.addUnsqueeze(x, 0, name=f"{name}_rows")  # (1, B, T, D) against (E, 1, H, D)
        hidden = self.addMatMul(rows, self.addConstant(w_1.weight.detach().unsqueeze(1), dtype=dtype, name="w_1"),
                                transpose_b=True, name=f"{name}_w_1")
        hidden = self.addAdd(hidden, self.addConstant(w_1.bias.detach()[:, None, None], dtype=dtype, name="b_1"))
        hidden = (self.addSiLU, self.addReLU, self.addGELU)[act](hidden, name=f"{name}_activation")
        out = self.addMatMul(hidden, self.addConstant(w_2.weight.detach().unsqueeze(1), dtype=dtype, name="w_2"),
                             transpose_b=True, name=f"{name}_w_2")
        out = self.addAdd(out, self.addConstant(w_2.bias.detach()[:, None, None], dtype=dtype, name="b_2"))
        ids = self.addConstant(torch.arange(num_experts, dtype=torch.int32).view(-1, 1, 1, 1), name="expert_ids")
        own = self.addEqual(ids, self.addUnsqueeze(index, 0), name=f"{name}_own_expert")  # (E, B, T, 1)
        return self.addSum(self.addWhere(own, out, 0.0, name=f"{name}_own_output"), 0, name=f"{name}_experts")
