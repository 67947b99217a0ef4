"""PoseGPT = LLaVA-style backbone + `<POSE>` token + pose head + pose tower (`<pose_in>`);
tokenizer; presets; save/load."""

from posegpt.model.build import add_lora, build_model, merge_lora
from posegpt.model.chat_format import (
    IGNORE_INDEX,
    encode_conversation,
    expand_image_tokens,
    format_conversation,
)
from posegpt.model.collate import collate
from posegpt.model.config import PRESETS, PoseGPTConfig, get_config
from posegpt.model.image import preprocess_image
from posegpt.model.io import (
    DEFAULT_MODEL_DIR,
    PACKAGED_MODELS,
    load_chat_model,
    load_pretrained,
    save_pretrained,
)
from posegpt.model.network import PoseGPT, PoseGPTOutput, Reply
from posegpt.model.tokenizer import (
    IMAGE_TOKEN,
    POSE_INPUT_TOKEN,
    POSE_TOKEN,
    load_tokenizer,
    train_tokenizer,
)

__all__ = [
    "DEFAULT_MODEL_DIR",
    "PACKAGED_MODELS",
    "IGNORE_INDEX",
    "IMAGE_TOKEN",
    "POSE_INPUT_TOKEN",
    "POSE_TOKEN",
    "PRESETS",
    "PoseGPT",
    "PoseGPTConfig",
    "PoseGPTOutput",
    "Reply",
    "add_lora",
    "build_model",
    "collate",
    "encode_conversation",
    "expand_image_tokens",
    "format_conversation",
    "get_config",
    "load_chat_model",
    "load_pretrained",
    "load_tokenizer",
    "merge_lora",
    "preprocess_image",
    "save_pretrained",
    "train_tokenizer",
]
