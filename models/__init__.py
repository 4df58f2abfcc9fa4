"""Model ports built with trt_helper: ``models.conformer_moe`` (3M-ASR) and ``models.whisper``."""
