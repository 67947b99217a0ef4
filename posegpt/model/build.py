"""Building a PoseGPT: a fresh backbone from a preset, a local llava-hf checkpoint, or Gemma-3-270M
as the language model beside a fresh vision tower; LoRA.

What trains:
  - mode "scratch": every parameter, except the vision tower when `freeze_vision`, the vision
    tower and image projector with the pose tower (`pose_tower`: they are unused), and CLIP's
    post-layernorm, which the LLaVA feature path never uses (a parameter without gradient
    would stall distributed training);
  - mode "lora": LoRA adapters on the language model's attention projections, the rows of
    PoseGPT's new tokens in the input embeddings and the LM head, the pose head, the pose-input
    tower and (with `text_encoder` set) the text-feature projector; the vision tower and the
    image projector are frozen, as in the paper, unless `lora_train_vision` (a tower built from
    scratch, as beside Gemma, must learn).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import (
    AutoImageProcessor,
    AutoTokenizer,
    BaseImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    PretrainedConfig,
    PreTrainedTokenizerFast,
)

from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model.config import LORA_TARGET_MODULES, PoseGPTConfig, get_config
from posegpt.model.gemma import gemma_language_model, gemma_tokenizer
from posegpt.model.network import PoseGPT, is_lora
from posegpt.model.tokenizer import (
    ADDED_TOKENS,
    EOS_TOKEN,
    IMAGE_TOKEN,
    extend_tokenizer,
    token_id,
)

if TYPE_CHECKING:
    from peft import PeftModel

#: What a folder holding an image processor has (transformers' name).
IMAGE_PROCESSOR_FILE = "preprocessor_config.json"


def build_model(
    config: PoseGPTConfig | str,
    tokenizer: PreTrainedTokenizerFast | None = None,
    llava_path: str | os.PathLike | None = None,
) -> PoseGPT:
    """A new PoseGPT from a config or preset name.

    Scratch presets need `tokenizer` (see `train_tokenizer`). With `llava_path` (required by
    the `llava-1.5` preset) the backbone and, unless given, the tokenizer come from that local
    llava-hf checkpoint; PoseGPT's tokens are added and the config takes the checkpoint's sizes.
    With `language_model="gemma-3-270m"` the language model is Gemma's (`posegpt.model.gemma`),
    with `tokenizer`'s vocabulary (default: Gemma's full one, see `gemma_tokenizer`).
    """
    cfg = get_config(config) if isinstance(config, str) else config
    path = llava_path or cfg.llava_path
    processor = None
    if path is not None:
        llava, tokenizer = _load_llava(path, tokenizer)
        cfg = describe_backbone(dataclasses.replace(cfg, llava_path=os.fspath(path)), llava.config)
        processor = load_image_processor(path)
        if processor is not None:
            cfg = dataclasses.replace(
                cfg, image_mean=tuple(processor.image_mean), image_std=tuple(processor.image_std)
            )
    elif cfg.language_model == "gemma-3-270m":
        tokenizer = tokenizer or gemma_tokenizer()
        text, weights = gemma_language_model(tokenizer)
        llava = LlavaForConditionalGeneration(llava_config(cfg, tokenizer, text))
        llava.model.language_model.load_state_dict(weights, strict=True)
        llava.tie_weights()
        cfg = dataclasses.replace(describe_backbone(cfg, llava.config), max_length=cfg.max_length)
    elif cfg.preset == "llava-1.5":
        raise InvalidInputError("the llava-1.5 preset needs llava_path: a local llava-hf folder")
    elif tokenizer is None:
        raise InvalidInputError(f"the {cfg.preset} preset needs a tokenizer (train_tokenizer)")
    else:
        llava = LlavaForConditionalGeneration(llava_config(cfg, tokenizer))
    backbone = prepare_backbone(llava, cfg, tokenizer, lora=cfg.mode == "lora")
    return PoseGPT(backbone, tokenizer, cfg, processor)


#: Settings a trained model can be grown by: each adds modules that start with zero output (or
#: as a copy of a part the model has: `COPIED`), so the grown model answers as the one it came
#: from until it is trained further.
GROWABLE = {
    "clause_features": "text_features.clause_projector.",
    "step_features": "text_features.step_projector.",
    "word_features": "text_features.word_projector.",
    "request_hints": "text_features.hints.",
    "pose_input_joints": "pose_input.joints.",
    "pose_input_codes": "pose_input.codes.",
    "keep_gates": "pose_head.keep.",
    "tower_colours": "pose_tower.colours.",
    "photo_head": "pose_head.photo_mlp.",
}
#: Grown parts that start as a copy of another part (prefix -> the prefix copied).
COPIED = {"pose_head.photo_mlp.": "pose_head.mlp."}
#: A larger `num_layers` grows a scratch language model too (`deepened_layers`).
LAYERS = "llava.model.language_model.layers."
#: The outputs of a layer that a copy starts with at zero, so that it passes its input on.
ZEROED_IN_COPIES = ("self_attn.o_proj.", "mlp.down_proj.")
#: Settings a trained model may change with the same weights: the BlazePose variant its pose
#: tower reads (every variant gives the same features).
SWITCHABLE = ("tower_bundle",)


def switched(old: PoseGPTConfig, new: PoseGPTConfig) -> PoseGPTConfig:
    """`old` with `new`'s `SWITCHABLE` settings."""
    return dataclasses.replace(old, **{k: getattr(new, k) for k in SWITCHABLE})


def differing_settings(old: PoseGPTConfig, new: PoseGPTConfig) -> list[str]:
    """The names of the settings whose values differ between two model configs."""
    a, b = old.to_dict(), new.to_dict()
    return sorted(k for k in b if b[k] != a.get(k))


def deepened_layers(old: int, new: int) -> list[tuple[int, bool]]:
    """For each of the `new` layers of a language model deepened from `old` layers: the old
    layer it starts from and whether it is a copy. Copies are spread evenly, each right after
    the layer it copies, with its attention and MLP outputs at zero, so the deeper model
    answers as before (LLaMA Pro's block expansion, Wu et al. 2024)."""
    added = new - old
    after = [math.ceil((g + 1) * old / added) - 1 for g in range(added)]
    return [pair for i in range(old) for pair in [(i, False)] + [(i, True)] * after.count(i)]


def _can_grow_by(old: PoseGPTConfig, new: PoseGPTConfig, setting: str) -> bool:
    """Whether `setting`'s change from `old` to `new` only adds parts that start at zero."""
    if setting == "num_layers":
        scratch = old.language_model == new.language_model == "scratch" and old.llava_path is None
        return scratch and old.mode == new.mode == "scratch" and new.num_layers > old.num_layers
    return setting in GROWABLE and bool(getattr(new, setting)) and not getattr(old, setting)


def grown_parts(old: PoseGPTConfig, new: PoseGPTConfig) -> tuple[str, ...]:
    """Name prefixes of the parameters `new` adds to a model of `old`: those of the `GROWABLE`
    settings it turns on, and the copied layers of a deeper language model."""
    differing = [k for k in differing_settings(old, new) if _can_grow_by(old, new, k)]
    parts = tuple(GROWABLE[k] for k in differing if k in GROWABLE)
    if "num_layers" in differing:
        layers = deepened_layers(old.num_layers, new.num_layers)
        parts += tuple(f"{LAYERS}{j}." for j, (_, copy) in enumerate(layers) if copy)
    return parts


def can_grow(old: PoseGPTConfig, new: PoseGPTConfig) -> bool:
    """Whether `new` differs from `old`, and only by turning on `GROWABLE` settings or by more
    layers of a scratch language model."""
    differing = differing_settings(old, new)
    return bool(differing) and all(_can_grow_by(old, new, k) for k in differing)


def _deepened_state(state: dict, old: int, new: int) -> dict:
    """A state dict of `old` language-model layers laid out as `deepened_layers`' `new`."""
    kept = {k: v for k, v in state.items() if not k.startswith(LAYERS)}
    for j, (i, copy) in enumerate(deepened_layers(old, new)):
        source = f"{LAYERS}{i}."
        for name, value in state.items():
            if name.startswith(source):
                rest = name[len(source) :]
                zeroed = copy and rest.startswith(ZEROED_IN_COPIES)
                kept[f"{LAYERS}{j}.{rest}"] = value.clone().zero_() if zeroed else value
    return kept


def grow(model: PoseGPT, config: PoseGPTConfig) -> PoseGPT:
    """`model`'s weights in a new model of `config` (see `can_grow`), with its person chooser
    and pose prior."""
    differing = differing_settings(model.config, config)
    if not can_grow(model.config, config):
        raise InvalidInputError(
            f"a model can only be grown by turning on {', '.join(GROWABLE)} or by more layers "
            f"of a scratch language model; these settings differ: {', '.join(differing) or 'none'}"
        )
    grown = build_model(config, model.tokenizer)
    state = model.state_dict()
    if config.num_layers != model.config.num_layers:
        state = _deepened_state(state, model.config.num_layers, config.num_layers)
    added = grown_parts(model.config, config)
    for part, source in COPIED.items():
        if part in added:
            copied = {k: v for k, v in state.items() if k.startswith(source)}
            state |= {part + k[len(source) :]: v.clone() for k, v in copied.items()}
    missing, unexpected = grown.load_state_dict(state, strict=False)
    if unexpected or not all(name.startswith(added) for name in missing):
        raise ModelFileError(f"weights do not fit the grown model: {missing}, {unexpected}")
    grown.chooser, grown.pose_prior = model.chooser, model.pose_prior  # stored beside the weights
    return grown


def load_image_processor(path: str | os.PathLike) -> BaseImageProcessor | None:
    """The image processor saved in a local folder (`preprocessor_config.json`: a llava-hf
    checkpoint's CLIP processor, 336 px for LLaVA-1.5), or None if the folder has none."""
    if not (Path(path) / IMAGE_PROCESSOR_FILE).exists():
        return None
    try:
        return AutoImageProcessor.from_pretrained(os.fspath(path), local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot load the image processor in {path}: {err}") from err


def llava_config(
    cfg: PoseGPTConfig,
    tokenizer: PreTrainedTokenizerFast,
    text: PretrainedConfig | None = None,
) -> LlavaConfig:
    """The LlavaConfig of a preset: CLIP vision and `text`, by default a scratch Llama."""
    text = text or LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_length,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=token_id(tokenizer, EOS_TOKEN),
    )
    vision = CLIPVisionConfig(
        hidden_size=cfg.vision_hidden_size,
        num_hidden_layers=cfg.vision_layers,
        num_attention_heads=cfg.vision_heads,
        intermediate_size=cfg.vision_intermediate_size,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=token_id(tokenizer, IMAGE_TOKEN),
        image_seq_length=cfg.image_seq_length,
        vision_feature_layer=cfg.vision_feature_layer,
    )


def describe_backbone(cfg: PoseGPTConfig, backbone: LlavaConfig) -> PoseGPTConfig:
    """`cfg` with its backbone fields set from a checkpoint's LlavaConfig."""
    text, vision = backbone.text_config, backbone.vision_config
    if not isinstance(backbone.vision_feature_layer, int):
        raise ModelFileError("multi-layer vision features are not supported")
    return dataclasses.replace(
        cfg,
        hidden_size=text.hidden_size,
        num_layers=text.num_hidden_layers,
        num_heads=text.num_attention_heads,
        intermediate_size=text.intermediate_size,
        max_length=text.max_position_embeddings,
        vision_hidden_size=vision.hidden_size,
        vision_layers=vision.num_hidden_layers,
        vision_heads=vision.num_attention_heads,
        vision_intermediate_size=vision.intermediate_size,
        image_size=vision.image_size,
        patch_size=vision.patch_size,
        vision_feature_layer=backbone.vision_feature_layer,
    )


def check_compatible(backbone: LlavaConfig, tokenizer: PreTrainedTokenizerFast) -> None:
    """Raise ModelFileError unless the tokenizer's ids fit the backbone."""
    if token_id(tokenizer, IMAGE_TOKEN) != backbone.image_token_id:
        raise ModelFileError(f"the tokenizer's {IMAGE_TOKEN} id is not the backbone's image token")
    if len(tokenizer) > backbone.text_config.vocab_size:
        raise ModelFileError(
            f"the tokenizer has {len(tokenizer)} tokens, the backbone only "
            f"{backbone.text_config.vocab_size} embeddings"
        )


def new_token_ids(tokenizer: PreTrainedTokenizerFast) -> list[int]:
    """Ids of the tokens whose embedding rows LoRA mode trains (`<image>`'s row is never read)."""
    vocab = tokenizer.get_vocab()
    return [token_id(tokenizer, t) for t in ADDED_TOKENS if t != IMAGE_TOKEN and t in vocab]


def prepare_backbone(
    llava: LlavaForConditionalGeneration,
    cfg: PoseGPTConfig,
    tokenizer: PreTrainedTokenizerFast,
    lora: bool,
) -> LlavaForConditionalGeneration | PeftModel:
    """Set what trains (see the module docstring); with `lora`, wrap in LoRA adapters."""
    post_layernorm = getattr(llava.model.vision_tower, "post_layernorm", None)
    if post_layernorm is not None:
        post_layernorm.requires_grad_(False)
    if cfg.freeze_vision or cfg.pose_tower != "none":
        llava.model.vision_tower.requires_grad_(False)
    if cfg.pose_tower != "none":  # the pose tower fills the image placeholders: pixels unused
        llava.model.multi_modal_projector.requires_grad_(False)
    if not lora:
        return llava
    from peft import LoraConfig, get_peft_model

    ids = new_token_ids(tokenizer)
    adapters = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=LORA_TARGET_MODULES,
        trainable_token_indices={"embed_tokens": ids, "lm_head": ids},
        modules_to_save=["vision_tower", "multi_modal_projector"]
        if cfg.lora_train_vision and not cfg.freeze_vision
        else None,
    )
    model = get_peft_model(llava, adapters)
    for name, param in model.named_parameters():
        if "post_layernorm" in name:
            param.requires_grad_(False)
    return model


def add_lora(model: PoseGPT) -> PoseGPT:
    """Give a LoRA-mode model without adapters (an export: `merge_lora`) fresh ones, in place,
    to train it further; other models are returned as they are."""
    if model.config.mode == "lora" and not is_lora(model.llava):
        model.llava = prepare_backbone(model.llava, model.config, model.tokenizer, lora=True)
    return model


def merge_lora(model: PoseGPT) -> PoseGPT:
    """Fold the LoRA adapters (and trained token rows) into the backbone, in place, for export."""
    if is_lora(model.llava):
        model.llava = model.llava.merge_and_unload()
    return model


def _load_llava(
    path: str | os.PathLike, tokenizer: PreTrainedTokenizerFast | None
) -> tuple[LlavaForConditionalGeneration, PreTrainedTokenizerFast]:
    """A local llava-hf checkpoint (safetensors only) and its tokenizer with PoseGPT's tokens."""
    path = os.fspath(path)
    try:
        llava = LlavaForConditionalGeneration.from_pretrained(
            path, local_files_only=True, use_safetensors=True, dtype="auto"
        )
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot load a llava-hf checkpoint from {path}: {err}") from err
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise ModelFileError(f"{path} does not hold a fast (tokenizer.json) tokenizer")
    tokenizer = extend_tokenizer(tokenizer)
    if len(tokenizer) > llava.config.text_config.vocab_size:
        llava.resize_token_embeddings(len(tokenizer))
    check_compatible(llava.config, tokenizer)
    return llava, tokenizer
