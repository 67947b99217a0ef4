"""`TrainConfig`: every setting of a training run, from YAML (`--config`) plus overrides.

A YAML file holds any subset of the fields below; `load_config` fills the rest from the
defaults, applies command-line overrides (`key=value`, `model.key=value`) and checks every
key and type, naming the first bad one. The fields `model`, `preset` and `llava_path` decide
the model (`model_config()`); `ce_weight` and `pose_weight` weigh its two losses (`loss()`, the
one place the training objective is written); `lr` defaults by preset.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from posegpt.data.sampler import DEFAULT_GROUPS, DEFAULT_SUB_WEIGHTS
from posegpt.errors import InvalidInputError
from posegpt.files import atomic_write_text

if TYPE_CHECKING:
    from posegpt.model import PoseGPTConfig

#: Learning rate by preset when `lr` is not set (measured: 1e-3 failed for medium; the paper: 2e-4).
DEFAULT_LR = {
    "tiny": 1e-3,
    "small": 1e-3,
    "medium": 3e-4,
    "llava-1.5": 2e-4,
    "gemma-3-270m": 2e-4,
}
#: Learning-rate schedules (names of `transformers.get_scheduler`).
SCHEDULES = ("cosine", "linear", "constant_with_warmup")
#: Largest config file read.
MAX_CONFIG_BYTES = 1_000_000
#: Fields that may differ when a run is resumed (they do not change what is computed).
RESUMABLE_CHANGES = frozenset(
    (
        "data",
        "out",
        "eval_every",
        "checkpoint_every",
        "keep_checkpoints",
        "num_workers",
        "log_every",
        "gradient_checkpointing",
    )
)
#: Settings `posegpt train` also takes as flags (`--batch-size 8`), with their help; any other
#: setting is `--set key=value`.
FLAGS = {
    "data": "Dataset folder (posegpt data synth).",
    "out": "Run folder to write.",
    "preset": "tiny, small, medium or llava-1.5.",
    "llava_path": "Local llava-hf checkpoint folder (llava-1.5 preset).",
    "init_from": "Start from this model's weights (a folder or a packaged name, e.g. default).",
    "steps": "Optimizer steps.",
    "batch_size": "Per process.",
    "grad_accum": "Micro-batches per step.",
    "lr": "Peak learning rate.",
    "bf16": "bf16 autocast.",
    "seed": "Random seed.",
}
#: Settings of the top level of TrainConfig that a user might put under `model` by mistake.
_TOP_LEVEL_MODEL_FIELDS = ("preset", "llava_path", "ce_weight", "pose_weight")


@dataclass
class TrainConfig:
    """A training run. Steps count optimizer updates (each over batch_size x grad_accum x
    processes conversations)."""

    data: str | None = None  # dataset folder (`posegpt data synth --out DIR`)
    out: str = "runs/posegpt"  # run folder: checkpoints, metrics, final model
    preset: str = "tiny"  # model preset (posegpt.model.PRESETS)
    model: dict[str, Any] = field(default_factory=dict)  # PoseGPTConfig field overrides
    llava_path: str | None = None  # local llava-hf checkpoint (llava-1.5 preset)
    # start from this model's weights and tokenizer (a folder or a packaged model's name) with
    # a fresh optimizer and schedule: fine-tuning, or a second stage of a run
    init_from: str | None = None
    vocab_size: int = 6000  # of the tokenizer trained on the data (scratch presets)
    steps: int | None = 1000  # optimizer steps; or set `epochs` (and steps: null)
    epochs: float | None = None  # passes over the training set, when steps is null
    batch_size: int = 16  # conversations per process per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float | None = None  # default by preset (DEFAULT_LR)
    # peak lr of the parts `init_from`'s model is grown by (new settings in `GROWABLE`: they
    # start at zero, and at `lr` may barely move in a short stage); default: `lr`
    grown_lr: float | None = None
    # train the grown parts only: every other weight stays as `init_from`'s model has it
    train_only_grown: bool = False
    weight_decay: float = 0.0
    warmup_steps: int = 100
    schedule: str = "cosine"
    clip_norm: float = 1.0
    bf16: bool = False  # bf16 autocast
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GROUPS))  # per batch
    # task weights within each mix group (unset ones keep DEFAULT_SUB_WEIGHTS)
    task_mix: dict[str, dict[str, float]] = field(default_factory=dict)
    eval_every: int = 500  # steps between validation passes (0: only at the end)
    eval_items: int = 256  # validation conversations per pass (spread over the val split)
    checkpoint_every: int = 500  # steps between checkpoints (0: only at the end)
    keep_checkpoints: int = 2  # newest checkpoints kept
    log_every: int = 10  # steps between metrics lines
    seed: int = 0
    num_workers: int = 0  # DataLoader worker processes
    max_seq_len: int | None = None  # longer conversations are cut (default: the model's)
    # recompute the language model's activations in the backward pass: less memory, ~1.3x time
    gradient_checkpointing: bool = False
    # share of the user's word tokens whose input embeddings training zeroes (models with a
    # text encoder: the meaning must then come from the turn's sentence features too)
    word_dropout: float = 0.0
    ce_weight: float = 1.0  # loss = ce_weight x CE + pose_weight x L1(rotation matrices)
    pose_weight: float = 0.1  # (the paper's weights)
    # + unlikelihood_weight x token unlikelihood against an answer repeating its own words
    # (`posegpt.model.unlikelihood`; 0: off)
    unlikelihood_weight: float = 0.0
    # + keep_weight x the keep gates' cross-entropy (models with `keep_gates`; pose_head.py)
    keep_weight: float = 1.0

    def __post_init__(self) -> None:
        self._check_types()
        self._check_values()

    # -- derived ---------------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR.get(self.preset, 3e-4)

    def loss(self, ce: Any, pose: Any, unlikelihood: Any = 0.0, keep: Any = 0.0) -> Any:
        """The training objective from the model's losses (tensors or floats): ce_weight x
        cross-entropy + pose_weight x L1 between rotation matrices + unlikelihood_weight x the
        repetition unlikelihood + keep_weight x the keep gates' cross-entropy."""
        return (
            self.ce_weight * ce
            + self.pose_weight * pose
            + self.unlikelihood_weight * unlikelihood
            + self.keep_weight * keep
        )

    def model_config(self) -> PoseGPTConfig:
        """The PoseGPTConfig this run builds."""
        from posegpt.model import get_config

        values = dict(self.model)
        if self.llava_path is not None:
            values["llava_path"] = self.llava_path
        return get_config(self.preset, **values)

    def total_steps(self, batches_per_epoch: int, processes: int) -> int:
        """`steps`, or the steps that make `epochs` passes of `batches_per_epoch` batches."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * batches_per_epoch / (self.grad_accum * processes)))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def changes_from(self, other: TrainConfig) -> list[str]:
        """Fields that differ from `other` and would change the computation."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k not in RESUMABLE_CHANGES and mine[k] != theirs[k])

    # -- checks ----------------------------------------------------------------------------

    def _check_types(self) -> None:
        hints = typing.get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name), hints[f.name])
            object.__setattr__(self, f.name, value)

    def _check_values(self) -> None:
        # posegpt.model imports torch: imported on use, so that the `posegpt` command starts fast
        from posegpt.model import PRESETS, PoseGPTConfig

        if self.preset not in PRESETS:
            raise InvalidInputError(
                f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}"
            )
        model_fields = {f.name for f in dataclasses.fields(PoseGPTConfig)}
        for key in self.model:
            if key in _TOP_LEVEL_MODEL_FIELDS:
                raise InvalidInputError(f"set {key!r} at the top level of the config, not in model")
            if key not in model_fields:
                raise InvalidInputError(
                    f"unknown model setting {key!r}; valid: {', '.join(sorted(model_fields))}"
                )
        if self.train_only_grown and self.init_from is None:
            raise InvalidInputError("train_only_grown needs init_from (a model to grow)")
        if (self.steps is None) == (self.epochs is None):
            raise InvalidInputError("set exactly one of steps and epochs (the other to null)")
        positive = "steps epochs batch_size grad_accum vocab_size eval_items keep_checkpoints"
        positive += " log_every max_seq_len lr grown_lr clip_norm"
        for name in positive.split():
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InvalidInputError(f"{name} must be positive, got {value}")
        not_negative = "weight_decay warmup_steps eval_every checkpoint_every num_workers"
        not_negative += " ce_weight pose_weight unlikelihood_weight keep_weight"
        for name in not_negative.split():
            if getattr(self, name) < 0:
                raise InvalidInputError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.schedule not in SCHEDULES:
            raise InvalidInputError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for key, weight in self.mix.items():
            if key not in DEFAULT_GROUPS:
                raise InvalidInputError(
                    f"unknown mix group {key!r}; valid: {', '.join(DEFAULT_GROUPS)}"
                )
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise InvalidInputError(f"mix.{key} must be a number >= 0, got {weight!r}")
        if not any(w > 0 for w in self.mix.values()):
            raise InvalidInputError("mix needs a task group with a positive weight")
        self.task_mix = _task_mix(self.task_mix)
        model = self.model_config()
        if not 0 <= self.word_dropout < 1:
            raise InvalidInputError(f"word_dropout must be in [0, 1), got {self.word_dropout}")
        if self.word_dropout and model.text_encoder == "none":
            raise InvalidInputError("word_dropout needs a model with a text encoder")
        if self.max_seq_len is not None and self.max_seq_len > model.max_length:
            raise InvalidInputError(
                f"max_seq_len {self.max_seq_len} exceeds the model's context {model.max_length}"
            )


def _task_mix(values: dict[str, Any]) -> dict[str, dict[str, float]]:
    """DEFAULT_SUB_WEIGHTS with the weights in `values` ({group: {task: weight}}) replaced."""
    merged = {group: dict(tasks) for group, tasks in DEFAULT_SUB_WEIGHTS.items()}
    for group, tasks in values.items():
        if group not in merged or not isinstance(tasks, dict):
            raise InvalidInputError(
                f"task_mix.{group} must map tasks of one of {', '.join(merged)} to weights"
            )
        for task, weight in tasks.items():
            if task not in merged[group]:
                raise InvalidInputError(
                    f"unknown task_mix.{group}.{task}; valid: {', '.join(merged[group])}"
                )
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise InvalidInputError(
                    f"task_mix.{group}.{task} must be a number >= 0, got {weight!r}"
                )
            merged[group][task] = float(weight)
    return merged


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """`value` checked against the type hint of field `name` (for a float, an int or a
    numeric string is accepted)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    if origin is float and not isinstance(value, bool) and isinstance(value, (int, str)):
        try:  # YAML reads 2e-4 (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if (origin is int and isinstance(value, bool)) or not isinstance(value, origin):
        kind = getattr(origin, "__name__", str(origin))
        raise InvalidInputError(f"config key {name!r} must be {kind}, got {value!r}")
    return dict(value) if origin is dict else value


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` (value read as YAML: `lr=1e-4`, `bf16=true`, `model.hidden_size=128`)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInputError(f"an override must look like key=value, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise InvalidInputError(f"cannot read the value of override {text!r}: {err}") from err


def load_config(
    path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """The config in the YAML file `path` (if any) with `overrides` applied (dotted keys reach
    into `model`, `mix` and `task_mix`: `task_mix.text2pose.speculative=2`). Unknown keys raise
    InvalidInputError naming the key."""
    values: dict[str, Any] = _read_yaml(Path(path)) if path is not None else {}
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key, value in (overrides or {}).items():
        top, dot, sub = key.partition(".")
        if dot and top in ("model", "mix"):
            # a group's weight changes that group only (the others keep the file's or defaults)
            start = values.get(top) or (dict(DEFAULT_GROUPS) if top == "mix" else {})
            values[top] = {**start, sub: value}
        elif dot and top == "task_mix":
            group, dot, task = sub.partition(".")
            if not dot:
                raise InvalidInputError(f"write task_mix overrides as task_mix.GROUP.TASK={value}")
            groups = values.setdefault("task_mix", {})
            groups[group] = {**(groups.get(group) or {}), task: value}
        else:
            values[key] = value
    unknown = sorted(set(values) - known)
    if unknown:
        where = f" in {path}" if path is not None else ""
        raise InvalidInputError(f"unknown config key {unknown[0]!r}{where}")
    return TrainConfig(**values)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InvalidInputError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidInputError(f"cannot read config {path}: {err.strerror or err}") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{path} is not valid YAML: {err}") from err
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise InvalidInputError(f"{path} must hold a mapping of config keys to values")
    return values


def save_config(config: TrainConfig, path: str | os.PathLike) -> None:
    """Write `config` as YAML, atomically."""
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
