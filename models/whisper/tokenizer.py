"""Whisper tokens from a tokenizer.json (HuggingFace `tokenizers`), with the special ids looked up by name."""

from pathlib import Path

# openai/whisper tokenizer.py `non_speech_tokens`: symbols whose tokens are suppressed while sampling.
_SYMBOLS = (
    list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
    + "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
)
_MISCELLANEOUS = set("♩♪♫♬♭♮♯")


class WhisperTokenizer:
    """Encode/decode text and know the special tokens of one Whisper vocabulary.

    >>> tok = WhisperTokenizer("tokenizer.json")          # doctest: +SKIP
    >>> tok.sot, tok.no_timestamps, tok.eot                 # doctest: +SKIP
    (50257, 50362, 50256)
    """

    def __init__(self, path):
        from tokenizers import Tokenizer

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no tokenizer.json")
        self._tok = Tokenizer.from_file(str(self.path))
        self.eot = self._special("<|endoftext|>")
        self.sot = self._special("<|startoftranscript|>")
        self.translate = self._special("<|translate|>")
        self.transcribe = self._special("<|transcribe|>")
        self.sot_lm = self._special("<|startoflm|>")
        self.sot_prev = self._special("<|startofprev|>")
        self.no_timestamps = self._special("<|notimestamps|>")
        self.no_speech = self._tok.token_to_id("<|nospeech|>") or self._tok.token_to_id("<|nocaptions|>")
        # Language tokens sit between sot and translate; .en vocabularies have them too but never use them.
        self.is_multilingual = self.eot != 50256
        self.timestamp_begin = self.no_timestamps + 1
        self.languages = {}  # code -> token id, in vocabulary order (openai's LANGUAGES order)
        for token_id in range(self.sot + 1, self.translate):
            token = self._tok.id_to_token(token_id)
            if token is None or not (token.startswith("<|") and token.endswith("|>")):
                raise ValueError(
                    f"{self.path}: token {token_id} between sot and translate is {token!r}, not a language token"
                )
            self.languages[token[2:-2]] = token_id

    def _special(self, text):
        token_id = self._tok.token_to_id(text)
        if token_id is None:
            raise ValueError(f"{self.path}: no {text} token; not a Whisper tokenizer")
        return token_id

    def encode(self, text):
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids):
        """Text of the ids, special tokens (>= eot) left out."""
        return self._tok.decode([int(i) for i in ids if int(i) < self.eot], skip_special_tokens=False)

    def sot_sequence(self, language="en", without_timestamps=True, task="transcribe"):
        """The decoder prompt: [sot] for .en models, [sot, <|lang|>, <|task|>] for multilingual ones."""
        prompt = [self.sot]
        if self.is_multilingual:
            if language not in self.languages:
                raise ValueError(f"{self.path}: unknown language {language!r}; known: {', '.join(self.languages)}")
            if task not in ("transcribe", "translate"):
                raise ValueError(f"task must be 'transcribe' or 'translate', got {task!r}")
            prompt += [self.languages[language], self.transcribe if task == "transcribe" else self.translate]
        if without_timestamps:
            prompt.append(self.no_timestamps)
        return prompt

    def non_speech_tokens(self):
        """Sorted ids of the symbols openai/whisper never samples (its `non_speech_tokens`)."""
        result = {self.encode(" -")[0], self.encode(" '")[0]}
        for symbol in _SYMBOLS + sorted(_MISCELLANEOUS):
            for tokens in (self.encode(symbol), self.encode(" " + symbol)):
                if len(tokens) == 1 or symbol in _MISCELLANEOUS:
                    result.add(tokens[0])
        return sorted(result)

    def suppress_tokens(self):
        """openai's `suppress_tokens="-1"`: non-speech symbols plus the control tokens never sampled."""
        control = [self.transcribe, self.translate, self.sot, self.sot_prev, self.sot_lm]
        if self.no_speech is not None:
            control.append(self.no_speech)
        return sorted(set(self.non_speech_tokens()) | set(control))

    def begin_suppress_tokens(self):
        """Tokens suppressed at the first sampled position (openai `SuppressBlank`): " " and eot."""
        return sorted(set(self.encode(" ") + [self.eot]))
