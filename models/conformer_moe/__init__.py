"""3M-ASR conformer-MoE encoder: PyTorch modules with a ``trt_forward`` each, configs and weights I/O."""

from .config import CONFIGS, ConformerMoEConfig, get_config
from .encoder import ConformerMoEEncoder, EmbedNet, build_model
from .weights import load_3m_asr_state_dict, save_state_dict

__all__ = [
    "CONFIGS",
    "ConformerMoEConfig",
    "get_config",
    "ConformerMoEEncoder",
    "EmbedNet",
    "build_model",
    "load_3m_asr_state_dict",
    "save_state_dict",
]
