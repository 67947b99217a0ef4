"""PoseGPT model configuration: one dataclass and named presets.

Presets: `tiny` (tests, well under 1M parameters), `small` (S5M), `medium` (M20M), all trained
from scratch on our own tokenizer; `llava-1.5`, which loads a local `llava-hf` checkpoint
(`llava_path`) and fine-tunes it with LoRA as in the paper; and `gemma-3-270m`, Gemma-3-270M
(`posegpt.model.gemma`, Gemma Terms of Use) as the language model with LoRA, beside a small
vision tower trained from scratch. For pretrained language models the language-model sizes below
are informational: the checkpoint's own config decides them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model.pose_tower.detector import BUNDLES

#: CLIP's image normalisation (also LLaVA-1.5's).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

#: Training settings that older saved configs hold; they no longer decide the model.
LEGACY_TRAINING_KEYS = ("ce_weight", "pose_weight")

#: Modules LoRA adapts: the language model's attention projections only (not CLIP's).
LORA_TARGET_MODULES = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)"
#: Where the language model comes from: built from scratch, or Gemma-3-270M (its package).
LANGUAGE_MODELS = ("scratch", "gemma-3-270m")
#: Most rows of the request-hint table (request_hints.py).
MAX_HINT_ROWS = 65_536
#: Frozen encoders whose features of the user's words the language model reads (text_features).
TEXT_ENCODERS = ("none", "minilm", "gemma-3-270m")


@dataclass(frozen=True)
class PoseGPTConfig:
    """Everything needed to build a PoseGPT (the loss weights are training settings)."""

    preset: str = "tiny"
    # language model (Llama)
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    max_length: int = 256
    # vision tower (CLIP ViT)
    vision_hidden_size: int = 32
    vision_layers: int = 1
    vision_heads: int = 2
    vision_intermediate_size: int = 128
    image_size: int = 32
    patch_size: int = 8
    vision_feature_layer: int = -1
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    # frozen sentence features of the user's words added to the LM input (text_features.py)
    text_encoder: Literal["none", "minilm", "gemma-3-270m"] = "none"
    # also each clause of a user turn ("sit down, then wave") embedded and added to its tokens
    clause_features: bool = False
    # ... and read again by the answer: each step's tokens get the clause of that step
    step_features: bool = False
    # each word token of a user turn also gets MiniLM's contextual state of its characters
    word_features: bool = False
    # rows of training requests whose nearest one's pose each user turn reads (request_hints.py);
    # 0: none
    request_hints: int = 0
    # frozen BlazePose landmarks of up to tower_slots people, tower_tokens LM tokens each, in
    # place of the pixel tower's patches (pose_tower/); "none": the pixel tower
    pose_tower: Literal["none", "blazepose"] = "none"
    # the BlazePose variant whose landmarks the pose tower reads (pose_tower/detector.py)
    tower_bundle: Literal["lite", "heavy"] = "lite"
    tower_slots: int = 4
    # each person's colours (top, legs, shoes, hair) read too (pose_tower/appearance.py)
    tower_colours: bool = False
    tower_tokens: int = 2
    # tokens per input pose (pose-input tower, pose_input.py); 0: the model reads no poses
    # (models saved before that tower existed load with 0)
    pose_seq_length: int = 0
    # the pose-input tower also reads the input pose's joint positions (pose_input.py)
    pose_input_joints: bool = False
    # ... and its posecodes, the facts the data's descriptions state (pose_input.py)
    pose_input_codes: bool = False
    # the pose head may keep each joint of the pose an answer changes (pose_head.py): exactly,
    # where its gate's probability is above keep_threshold
    keep_gates: bool = False
    keep_threshold: float = 0.8
    # pose head: hidden -> pose_head_hidden -> 24 x 6D; None means the LM's hidden size
    pose_head_hidden: int | None = None
    # a second answer MLP for answers in conversations with a picture (pose_head.py)
    photo_head: bool = False
    # training mode: everything from scratch, or LoRA on the language model
    mode: Literal["scratch", "lora"] = "scratch"
    lora_r: int = 128
    lora_alpha: int = 256
    lora_dropout: float = 0.05
    freeze_vision: bool = False
    # LoRA mode: also train the vision tower and projector in full (when they are new)
    lora_train_vision: bool = False
    llava_path: str | None = None
    # the language model: from scratch, or pretrained Gemma-3-270M
    language_model: Literal["scratch", "gemma-3-270m"] = "scratch"
    # pretrained tokenizer cut to the training texts and common English (posegpt.model.vocab)
    trim_vocab: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("scratch", "lora"):
            raise InvalidInputError(f"mode must be 'scratch' or 'lora', got {self.mode!r}")
        if self.language_model not in LANGUAGE_MODELS:
            raise InvalidInputError(
                f"language_model must be one of {', '.join(LANGUAGE_MODELS)}, "
                f"got {self.language_model!r}"
            )
        if self.language_model != "scratch" and self.llava_path is not None:
            raise InvalidInputError("set either language_model or llava_path, not both")
        if self.text_encoder not in TEXT_ENCODERS:
            raise InvalidInputError(
                f"text_encoder must be one of {', '.join(TEXT_ENCODERS)}, got {self.text_encoder!r}"
            )
        if (self.clause_features or self.request_hints) and self.text_encoder == "none":
            raise InvalidInputError("clause_features and request_hints need a text_encoder")
        if self.step_features and not self.clause_features:
            raise InvalidInputError("step_features needs clause_features")
        if self.word_features and self.text_encoder != "minilm":
            raise InvalidInputError("word_features needs text_encoder=minilm")
        if not 0 <= self.request_hints <= MAX_HINT_ROWS:
            raise InvalidInputError(
                f"request_hints must be 0..{MAX_HINT_ROWS}, got {self.request_hints}"
            )
        if self.pose_tower not in ("none", "blazepose"):
            raise InvalidInputError(
                f"pose_tower must be 'none' or 'blazepose', got {self.pose_tower!r}"
            )
        if self.tower_bundle not in BUNDLES:
            raise InvalidInputError(
                f"tower_bundle must be one of {', '.join(BUNDLES)}, got {self.tower_bundle!r}"
            )
        if self.tower_slots < 1 or self.tower_tokens < 1:
            raise InvalidInputError("tower_slots and tower_tokens must be >= 1")
        if not 0 <= self.pose_seq_length <= 64:
            raise InvalidInputError(f"pose_seq_length must be 0..64, got {self.pose_seq_length}")
        if (
            self.pose_input_joints or self.pose_input_codes or self.keep_gates
        ) and not self.pose_seq_length:
            raise InvalidInputError(
                "pose_input_joints, pose_input_codes and keep_gates need pose_seq_length > 0"
            )
        if not 0 < self.keep_threshold < 1:
            raise InvalidInputError(f"keep_threshold must be in (0, 1), got {self.keep_threshold}")
        if self.image_size % self.patch_size:
            raise InvalidInputError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        if self.hidden_size % self.num_heads or self.vision_hidden_size % self.vision_heads:
            raise InvalidInputError("hidden sizes must be multiples of the number of heads")

    @property
    def image_seq_length(self) -> int:
        """How many `<image>` tokens one image becomes: one per patch (CLS dropped), or with the
        pose tower `tower_tokens` per person slot."""
        if self.pose_tower == "blazepose":
            return self.tower_slots * self.tower_tokens
        return (self.image_size // self.patch_size) ** 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PoseGPTConfig:
        """Inverse of `to_dict`; raises ModelFileError on unknown keys or bad values. The loss
        weights that older models saved here (`LEGACY_TRAINING_KEYS`) are ignored."""
        values = {k: v for k, v in values.items() if k not in LEGACY_TRAINING_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelFileError(f"unknown PoseGPT config keys: {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        try:
            return cls(**values)
        except (TypeError, InvalidInputError) as err:
            raise ModelFileError(f"invalid PoseGPT config: {err}") from err


PRESETS: dict[str, PoseGPTConfig] = {
    "tiny": PoseGPTConfig(pose_seq_length=2),
    "small": PoseGPTConfig(
        preset="small",
        hidden_size=192,
        num_layers=4,
        num_heads=6,
        intermediate_size=512,
        max_length=512,
        vision_hidden_size=128,
        vision_layers=3,
        vision_heads=4,
        vision_intermediate_size=512,
        image_size=64,
        patch_size=8,
        pose_seq_length=4,
    ),
    "medium": PoseGPTConfig(
        preset="medium",
        hidden_size=384,
        num_layers=6,
        num_heads=6,
        intermediate_size=1024,
        max_length=1024,
        vision_hidden_size=256,
        vision_layers=4,
        vision_heads=4,
        vision_intermediate_size=1024,
        image_size=112,
        patch_size=14,
        pose_seq_length=4,
    ),
    # The shape of llava-1.5-7b, for reference; the checkpoint at llava_path decides.
    "llava-1.5": PoseGPTConfig(
        preset="llava-1.5",
        hidden_size=4096,
        num_layers=32,
        num_heads=32,
        intermediate_size=11008,
        max_length=4096,
        vision_hidden_size=1024,
        vision_layers=24,
        vision_heads=16,
        vision_intermediate_size=4096,
        image_size=336,
        patch_size=14,
        vision_feature_layer=-2,
        pose_seq_length=8,
        mode="lora",
        freeze_vision=True,
    ),
}
# Gemma-3-270M + LoRA beside the small preset's vision tower, trained in full. LoRA rank and
# the trimmed vocabulary were chosen by measurement (BENCHMARKS.md).
PRESETS["gemma-3-270m"] = dataclasses.replace(
    PRESETS["small"],
    preset="gemma-3-270m",
    hidden_size=640,
    num_layers=18,
    num_heads=4,
    intermediate_size=2048,
    max_length=1024,
    mode="lora",
    lora_r=16,
    lora_alpha=32,
    lora_train_vision=True,
    language_model="gemma-3-270m",
    trim_vocab=True,
)


def get_config(preset: str, **overrides: Any) -> PoseGPTConfig:
    """The preset called `preset`, with any field replaced by `overrides`."""
    if preset not in PRESETS:
        raise InvalidInputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    try:
        return dataclasses.replace(PRESETS[preset], **overrides)
    except TypeError as err:
        raise InvalidInputError(f"bad config override: {err}") from err
