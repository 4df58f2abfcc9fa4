"""Byte-level BPE tokenizer (``tokenizers``) built from GGUF metadata or a Hugging Face tokenizer.json, plus the
chat template.

From GGUF it is built the way transformers' GGUF conversion builds it (``GGUFGPTConverter``): BPE over the vocabulary
and merges, a plain ``ByteLevel`` pre-tokenizer (no llama.cpp ``smollm`` digit split: transformers has none either,
so token ids equal the Hugging Face peer's), control tokens (GGUF token type 3) as special tokens, no BOS added.
"""

import json
from pathlib import Path

CONTROL = 3  # llama.cpp token type of control tokens (<|im_start|>, <|im_end|>, ...)


class LlamaTokenizer:
    """encode/decode and the chat template; ``eos_token_id`` stops generation."""

    def __init__(self, tokenizer, eos_token_id, bos_token_id=None, chat_template=None, special_tokens=None):
        self.tokenizer = tokenizer
        self.eos_token_id, self.bos_token_id = eos_token_id, bos_token_id
        self.chat_template = chat_template
        self.special_tokens = special_tokens or {}

    @classmethod
    def from_gguf_metadata(cls, metadata):
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        if metadata.get("tokenizer.ggml.model") != "gpt2":
            raise ValueError(
                f"GGUF tokenizer.ggml.model is {metadata.get('tokenizer.ggml.model')!r}; this port "
                "reads byte-level BPE ('gpt2')"
            )
        tokens = list(metadata["tokenizer.ggml.tokens"])
        merges = [tuple(m.split(" ", 1)) for m in metadata["tokenizer.ggml.merges"]]
        kinds = list(metadata.get("tokenizer.ggml.token_type", [1] * len(tokens)))
        bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False, byte_fallback=False)
        tokenizer = Tokenizer(bpe)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tokenizer.decoder = decoders.ByteLevel()
        specials = [t for t, kind in zip(tokens, kinds) if kind == CONTROL]
        tokenizer.add_special_tokens(specials)
        eos = metadata.get("tokenizer.ggml.eos_token_id")
        bos = metadata.get("tokenizer.ggml.bos_token_id")
        return cls(tokenizer, eos, bos, metadata.get("tokenizer.chat_template"), {t: tokens.index(t) for t in specials})

    @classmethod
    def from_hf(cls, directory):
        """From tokenizer.json (+ tokenizer_config.json for eos and the chat template) in a Hugging Face dir."""
        from tokenizers import Tokenizer

        directory = Path(directory)
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        config_path = directory / "tokenizer_config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}

        def token_id(key):
            token = config.get(key)
            token = token.get("content") if isinstance(token, dict) else token
            return None if token is None else tokenizer.token_to_id(token)

        return cls(tokenizer, token_id("eos_token"), token_id("bos_token"), config.get("chat_template"))

    def encode(self, text):
        """Token ids of ``text`` (special tokens written in the text are recognised; no BOS is added)."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids, skip_special_tokens=True):
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def chat(self, user_text, system=None):
        """The prompt text of one user turn rendered with the model's chat template, ready for the assistant."""
        if not self.chat_template:
            raise ValueError("this tokenizer has no chat template")
        import jinja2

        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": user_text}
        ]
        template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(self.chat_template)
        return template.render(messages=messages, add_generation_prompt=True)
