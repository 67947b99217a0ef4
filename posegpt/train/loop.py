"""`train(config)`: the training loop, on one CPU or under `accelerate launch` (many GPUs or
nodes, DeepSpeed ZeRO 0-2) without changes.

A fresh run trains the tokenizer on the training conversations (scratch presets), builds the
model from a seed, and writes into `config.out`:
  config.yaml      the run's config
  metrics.jsonl    training records every `log_every` steps, validation records
  loss.png         the loss curves
  checkpoints/     the newest `keep_checkpoints` checkpoints (posegpt.train.checkpoint)
  final/           the trained model (`save_pretrained`; LoRA merged in)
`resume=True` continues from the newest checkpoint with the same data order, RNG states and
optimizer state, so an interrupted run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm import tqdm
from transformers import BaseImageProcessor, PreTrainedTokenizerFast, get_scheduler

from posegpt.data.dataset import POSE_READING_TASKS, TASKS, PoseDataset
from posegpt.data.sampler import MixtureSampler
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model import (
    PoseGPT,
    PoseGPTConfig,
    add_lora,
    build_model,
    load_chat_model,
    load_tokenizer,
    merge_lora,
    save_pretrained,
    train_tokenizer,
)
from posegpt.model.build import can_grow, differing_settings, grow, grown_parts, switched
from posegpt.model.gemma import gemma_tokenizer
from posegpt.model.io import read_model_config
from posegpt.model.request_hints import fill_request_hints
from posegpt.model.unlikelihood import repetition_unlikelihood
from posegpt.train.checkpoint import (
    CHECKPOINTS,
    TOKENIZER,
    checkpoint_problem,
    list_checkpoints,
    load_checkpoint,
    read_trainer_state,
    save_checkpoint,
)
from posegpt.train.config import TrainConfig, save_config
from posegpt.train.data import (
    ConversationSource,
    EncodedDataset,
    RankBatches,
    corpus,
    evaluation_batches,
    make_loader,
)
from posegpt.train.evaluate import evaluate
from posegpt.train.metrics import LossWindow, MetricsLog, plot_losses

METRICS = "metrics.jsonl"
LOSS_PLOT = "loss.png"
FINAL = "final"
CONFIG = "config.yaml"

#: Called on the main process after every optimizer step with the number of steps done.
StepCallback = Callable[[int], None]


@dataclass
class TrainResult:
    """What a finished run produced."""

    out: Path
    final_dir: Path
    steps: int
    train: dict[str, Any]  # the last training record
    val: dict[str, Any] | None  # the last validation record
    samples_per_s: float  # over this session's steps
    seconds: float
    main_process: bool  # False in the other processes of a distributed run


def train(
    config: TrainConfig,
    train_data: ConversationSource | None = None,
    val_data: ConversationSource | None = None,
    resume: bool = False,
    progress: bool = True,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train a PoseGPT as `config` says, on `train_data` (default: the `config.data` folder's
    train split) with validation on `val_data` (default: its val split)."""
    out = Path(config.out)
    if config.preset == "llava-1.5" and config.llava_path is None:
        raise InvalidInputError("the llava-1.5 preset needs --llava-path: a local llava-hf folder")
    train_data, val_data = _sources(config, train_data, val_data)
    if sum(train_data.sizes.values()) == 0:
        raise InvalidInputError("the training data has no conversations")
    if config.num_workers:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # workers fork after training it
    # cpu=True is what makes a multi-process CPU run (torchrun) use gloo; DeepSpeed, which
    # `accelerate launch --use_deepspeed` announces in the environment, needs it False.
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available() and not deepspeed,
        mixed_precision="bf16" if config.bf16 else "no",
        gradient_accumulation_steps=config.grad_accum,
    )
    try:
        return _run(config, accelerator, out, train_data, val_data, resume, progress, on_step)
    finally:
        accelerator.end_training()  # destroys the process group (else DeepSpeed hangs at exit)
        # Accelerate's state is process-wide; clear it so that a later run can set its own.
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()


def _run(
    config: TrainConfig,
    accelerator: Accelerator,
    out: Path,
    train_data: ConversationSource,
    val_data: ConversationSource | None,
    resume: bool,
    progress: bool,
    on_step: StepCallback | None,
) -> TrainResult:
    started = time.perf_counter()
    main = accelerator.is_main_process
    checkpoint = _checkpoint_to_resume(config, out, resume)
    session = _Session.build(config, accelerator, train_data, checkpoint)
    metrics = MetricsLog(out / METRICS)
    if checkpoint is not None and main:
        metrics.keep_until(session.step)
    elif main:
        out.mkdir(parents=True, exist_ok=True)
        metrics.path.unlink(missing_ok=True)
        save_config(config, out / CONFIG)
    batches = iter(session.loader(train_data))
    val_loader = session.evaluation_loader(val_data) if val_data is not None else None

    bar = tqdm(
        total=session.total,
        initial=session.step,
        desc="train",
        unit="step",
        disable=not (progress and main),
    )
    first_step, window = session.step, LossWindow(accelerator)
    last_train: dict[str, Any] = {}
    last_val: dict[str, Any] | None = None
    while session.step < session.total:
        lr, grad_norm = session.optimizer_step(batches, window)
        step, done = session.step, session.step == session.total
        bar.update()
        if _due(step, config.log_every, done):
            samples = config.batch_size * config.grad_accum * accelerator.num_processes
            last_train = window.record(step, samples)
            last_train.update(lr=lr, epoch=round(session.position / len(session.sampler), 4))
            if grad_norm is not None:
                last_train["grad_norm"] = float(grad_norm)
            if main:
                metrics.append(last_train)
                bar.set_postfix(
                    loss=f"{last_train['loss']:.4f}",
                    pose=f"{last_train['pose']:.4f}",
                    samples_s=f"{last_train['samples_per_s']:.1f}",
                )
        if on_step is not None and main:
            on_step(step)
        if val_loader is not None and _due(step, config.eval_every, done):
            scores = evaluate(session.model, val_loader, accelerator, config.loss)
            last_val = {"step": step, **scores}
            if main:
                metrics.append(last_val)
                if progress:
                    bar.write(_describe(last_val))
        if _due(step, config.checkpoint_every, done):
            session.save(out)
            if main:
                plot_losses(metrics.read(), out / LOSS_PLOT)
    bar.close()

    final = out / FINAL
    accelerator.wait_for_everyone()
    if main:
        records = metrics.read()
        last_train = last_train or next((r for r in reversed(records) if "loss" in r), {})
        last_val = last_val or next((r for r in reversed(records) if "val_loss" in r), None)
        plot_losses(records, out / LOSS_PLOT)
        save_pretrained(merge_lora(accelerator.unwrap_model(session.model)), final)
    accelerator.wait_for_everyone()
    rate = window.samples_per_s if session.step > first_step else 0.0
    seconds = time.perf_counter() - started
    return TrainResult(out, final, session.step, last_train, last_val, rate, seconds, main)


def _due(step: int, every: int, done: bool) -> bool:
    """Whether a periodic action (every `every` steps, 0: never; always at the end) is due."""
    return done or (every > 0 and step % every == 0)


@dataclass
class _Session:
    """The model, optimizer, schedule and data position of one training session."""

    config: TrainConfig
    accelerator: Accelerator
    tokenizer: PreTrainedTokenizerFast
    model_config: PoseGPTConfig
    collate_fn: functools.partial
    model: torch.nn.Module  # prepared by the accelerator
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: MixtureSampler
    total: int  # steps of the run
    step: int = 0  # optimizer steps done
    position: int = 0  # batches consumed, by all processes
    image_processor: BaseImageProcessor | None = None  # the pretrained checkpoint's, if any

    @classmethod
    def build(
        cls,
        config: TrainConfig,
        accelerator: Accelerator,
        train_data: ConversationSource,
        checkpoint: Path | None,
    ) -> _Session:
        """A fresh model from the seed (or from `config.init_from`'s weights), or the state
        saved in `checkpoint`."""
        start = _initial_model(config) if checkpoint is None else None
        tokenizer = (
            start.tokenizer if start is not None else _tokenizer(config, train_data, checkpoint)
        )
        set_seed(config.seed)
        if start is None:
            model = build_model(config.model_config(), tokenizer, config.llava_path)
        else:  # an exported LoRA-mode model is merged: fresh adapters go on its weights
            model = add_lora(start)
        if checkpoint is None:
            _fill_request_hints(model, train_data, config.seed)
        model.word_dropout = config.word_dropout
        if config.train_only_grown:
            _freeze_all_but_grown(model, config)
        if config.gradient_checkpointing:
            kwargs = {"use_reentrant": False}  # gradients reach LoRA with frozen inputs
            model.backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        optimizer = torch.optim.AdamW(
            _parameter_groups(model, config),
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        sampler = MixtureSampler(
            train_data.sizes,
            config.batch_size,
            seed=config.seed,
            groups=config.mix,
            sub_weights=config.task_mix,
            offsets=train_data.offsets,
        )
        total = config.total_steps(len(sampler), accelerator.num_processes)
        scheduler = get_scheduler(
            config.schedule,
            optimizer,
            num_warmup_steps=min(config.warmup_steps, total),
            num_training_steps=total,
        )
        _configure_deepspeed(accelerator, config)
        prepared, optimizer = accelerator.prepare(model, optimizer)
        session = cls(
            config,
            accelerator,
            model.tokenizer,
            model.config,
            model.collate_fn,
            prepared,
            optimizer,
            scheduler,
            sampler,
            total,
            image_processor=model.image_processor,
        )
        if checkpoint is not None:
            load_checkpoint(accelerator, checkpoint)
            trainer = read_trainer_state(checkpoint)
            scheduler.load_state_dict(trainer["scheduler"])
            session.step, session.position = trainer["step"], trainer["position"]
        return session

    def _encoded(self, source: ConversationSource) -> EncodedDataset:
        max_len = self.config.max_seq_len or self.model_config.max_length
        return EncodedDataset(
            source, self.tokenizer, self.model_config, max_len, self.image_processor
        )

    def loader(self, source: ConversationSource) -> DataLoader:
        """This process's training batches, from the session's data position on."""
        acc = self.accelerator
        batches = RankBatches(self.sampler, self.position, acc.process_index, acc.num_processes)
        cfg = self.config
        return make_loader(
            self._encoded(source), batches, self.collate_fn, cfg.num_workers, cfg.seed
        )

    def evaluation_loader(self, source: ConversationSource) -> DataLoader | None:
        """This process's share of the validation items (None when there are none)."""
        cfg, acc = self.config, self.accelerator
        if not len(source):
            return None
        chunks = evaluation_batches(
            source, cfg.eval_items, cfg.batch_size, acc.process_index, acc.num_processes
        )
        return make_loader(
            self._encoded(source), chunks, self.collate_fn, cfg.num_workers, cfg.seed
        )

    def optimizer_step(
        self, batches: Iterator[dict[str, torch.Tensor]], window: LossWindow
    ) -> tuple[float, torch.Tensor | None]:
        """One optimizer step over `grad_accum` micro-batches; (its lr, the gradient norm)."""
        acc, cfg = self.accelerator, self.config
        lr, grad_norm = self.scheduler.get_last_lr()[0], None
        self.model.train()
        for _ in range(cfg.grad_accum):
            batch = {k: v.to(acc.device) for k, v in next(batches).items()}
            with acc.accumulate(self.model):
                output = self.model(batch)
                unlikelihood = (
                    repetition_unlikelihood(output.logits, batch["labels"])
                    if cfg.unlikelihood_weight
                    else 0.0
                )
                keep = 0.0 if output.keep_loss is None else output.keep_loss
                loss = cfg.loss(output.ce_loss, output.pose_loss, unlikelihood, keep)
                acc.backward(loss)
                if acc.sync_gradients:
                    grad_norm = acc.clip_grad_norm_(self.model.parameters(), cfg.clip_norm)
                self.optimizer.step()
                self.optimizer.zero_grad()
            window.add(loss, output, 1 / cfg.grad_accum)
        self.scheduler.step()
        self.step += 1
        self.position += cfg.grad_accum * acc.num_processes
        return lr, grad_norm

    def save(self, out: Path) -> None:
        """Checkpoint the session (all processes)."""
        trainer = {
            "step": self.step,
            "position": self.position,
            "scheduler": self.scheduler.state_dict(),
            "config": self.config.to_dict(),
        }
        cfg = self.config
        save_checkpoint(
            self.accelerator, out, self.step, trainer, self.tokenizer, cfg.keep_checkpoints
        )


def _describe(record: dict[str, Any]) -> str:
    values = " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "step")
    return f"step {record['step']}: {values}"


def _sources(
    config: TrainConfig,
    train_data: ConversationSource | None,
    val_data: ConversationSource | None,
) -> tuple[ConversationSource, ConversationSource | None]:
    """The given sources, or the train and val splits of the `config.data` folder (without
    the tasks that read poses when the model has no pose-input tower)."""
    if train_data is not None:
        return train_data, val_data
    if config.data is None:
        raise InvalidInputError("no training data: set `data` (a dataset folder) or pass --data")
    reads = config.model_config().pose_seq_length > 0
    tasks = tuple(t for t in TASKS if reads or t not in POSE_READING_TASKS)
    return (
        PoseDataset(config.data, "train", seed=config.seed, tasks=tasks),
        val_data or PoseDataset(config.data, "val", seed=config.seed, tasks=tasks),
    )


def _checkpoint_to_resume(config: TrainConfig, out: Path, resume: bool) -> Path | None:
    """The newest checkpoint when resuming (None if there is none yet); refuses to start a
    fresh run over an earlier run's checkpoints, or to resume with a different setup."""
    checkpoints = list_checkpoints(out)
    if not resume:
        if checkpoints:
            raise InvalidInputError(
                f"{out / CHECKPOINTS} holds an earlier run: pass --resume to continue it, "
                "or choose another output folder"
            )
        return None
    if not checkpoints:
        return None
    latest = _newest_intact(checkpoints)
    stored = TrainConfig(**read_trainer_state(latest)["config"])
    changed = config.changes_from(stored)
    if changed:
        raise InvalidInputError(
            f"cannot resume {out}: the config differs from the run's in {', '.join(changed)}"
        )
    return latest


def _newest_intact(checkpoints: list[Path]) -> Path:
    """The newest checkpoint whose files are intact; says which damaged ones were passed over."""
    problems = []
    for checkpoint in reversed(checkpoints):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            for skipped in problems:
                print(f"posegpt: skipping a damaged checkpoint: {skipped}", file=sys.stderr)
            if problems:
                print(f"posegpt: resuming from {checkpoint.name}", file=sys.stderr)
            return checkpoint
        problems.append(problem)
    raise ModelFileError("no intact checkpoint to resume from: " + "; ".join(problems))


def _initial_model(config: TrainConfig) -> PoseGPT | None:
    """The model named by `config.init_from` (None when unset); its config must be this run's,
    or this run's but for settings it is grown by (`posegpt.model.build.can_grow`) or may
    switch (`posegpt.model.build.SWITCHABLE`)."""
    if config.init_from is None:
        return None
    start = load_chat_model(config.init_from)
    wanted = config.model_config()
    start.config = switched(start.config, wanted)
    differing = differing_settings(start.config, wanted)
    grown = dataclasses.replace(start.config, **{k: getattr(wanted, k) for k in differing})
    if can_grow(start.config, grown):
        return grow(start, grown)
    if differing:
        shown = ", ".join(
            f"{k}: {getattr(start.config, k)!r} there, {getattr(wanted, k)!r} here"
            for k in differing
        )
        raise InvalidInputError(
            f"init_from {config.init_from!r} was built with other model settings ({shown}); "
            "use the preset and model settings it was trained with"
        )
    return start


def _fill_request_hints(model: PoseGPT, train_data: ConversationSource, seed: int) -> None:
    """A new (or grown) model's request-hint table gets the training data's one-pose requests
    (`posegpt.model.request_hints`); a trained one keeps its own."""
    features = model.text_features
    if features is None or features.hints is None or features.hints.filled:
        return
    start, size = train_data.offsets["instruction"], train_data.sizes["instruction"]
    train_data.set_epoch(0)
    conversations = [train_data[start + i] for i in range(size)]
    fill_request_hints(features.hints, features.embedder, conversations, seed)


def _grown_prefixes(config: TrainConfig) -> tuple[str, ...]:
    """Name prefixes of the parameters `config.init_from`'s model is grown by (none without
    `init_from`), read from its config file (on resume too, so the optimizer's groups match)."""
    if config.init_from is None:
        return ()
    return grown_parts(read_model_config(config.init_from), config.model_config())


def _freeze_all_but_grown(model: torch.nn.Module, config: TrainConfig) -> None:
    """Only the parts `config.init_from`'s model is grown by keep `requires_grad`."""
    grown = _grown_prefixes(config)
    if not grown:
        raise InvalidInputError(
            "train_only_grown: this run's model settings grow init_from's model by nothing "
            "(turn on a growable setting, e.g. model.step_features=true)"
        )
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(grown))


def _parameter_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """The trainable parameters as the optimizer's groups: the grown parts apart, at
    `config.grown_lr`, when it is set."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grown = _grown_prefixes(config) if config.grown_lr is not None else ()
    groups = [{"params": [p for n, p in named if not n.startswith(grown)]}]
    new = [p for n, p in named if n.startswith(grown)]
    if new:
        groups.append({"params": new, "lr": config.grown_lr})
    return groups


def _tokenizer(
    config: TrainConfig, train_data: ConversationSource, checkpoint: Path | None
) -> PreTrainedTokenizerFast | None:
    """The checkpoint's tokenizer, one trained on the training texts (scratch presets), Gemma's
    (trimmed to the training texts with `trim_vocab`), or None (the llava-hf checkpoint brings
    its own)."""
    if checkpoint is not None:
        return load_tokenizer(checkpoint / TOKENIZER)
    model = config.model_config()
    if model.llava_path is not None:
        return None
    if model.language_model == "gemma-3-270m":
        return gemma_tokenizer(corpus(train_data) if model.trim_vocab else None)
    return train_tokenizer(corpus(train_data), vocab_size=config.vocab_size)


def _configure_deepspeed(accelerator: Accelerator, config: TrainConfig) -> None:
    """Give DeepSpeed the batch sizes and clipping (the loop has no prepared DataLoader)."""
    plugin = accelerator.state.deepspeed_plugin
    if plugin is not None:
        plugin.deepspeed_config.update(
            train_micro_batch_size_per_gpu=config.batch_size,
            gradient_accumulation_steps=config.grad_accum,
            train_batch_size=config.batch_size * config.grad_accum * accelerator.num_processes,
            gradient_clipping=config.clip_norm,
        )
