"""`posegpt train`: train a PoseGPT from a YAML config, with command-line overrides.

The flags that set training settings (`--steps`, `--batch-size`, ...) are made from
`posegpt.train.config.FLAGS` with the types of `TrainConfig`'s fields; any other setting is
`--set key=value`. Multi-GPU / multi-node / DeepSpeed: the same command under
`accelerate launch`, e.g. `accelerate launch --use_deepspeed --deepspeed_config_file
configs/deepspeed_zero2.json -m posegpt.train --config configs/llava-1.5-lora.yaml`.
"""

from __future__ import annotations

import functools
import inspect
import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from posegpt.train.config import FLAGS, TrainConfig
from posegpt.train.tcmalloc import use_tcmalloc

#: Short forms of some flags.
SHORT_FLAGS = {"out": "-o"}


def _not_none(annotation: Any) -> Any:
    """`int | None` -> `int`."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _with_setting_flags(command: Callable[..., None]) -> Callable[..., None]:
    """`command` (taking `**flags`) with one option per `FLAGS` setting in its signature, typed
    as the TrainConfig field; an option not given is None (the config decides)."""
    hints = typing.get_type_hints(TrainConfig)
    own = typing.get_type_hints(command)
    params = [
        p.replace(annotation=own[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.kind is not p.VAR_KEYWORD
    ]
    for name, help_text in FLAGS.items():
        kind = _not_none(hints[name])
        flag = "--" + name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}"] if kind is bool else [flag]
        decls += [SHORT_FLAGS[name]] if name in SHORT_FLAGS else []
        option = typer.Option(None, *decls, help=help_text)
        keyword = inspect.Parameter.KEYWORD_ONLY
        params.append(inspect.Parameter(name, keyword, default=option, annotation=kind | None))

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        command(**kwargs)

    wrapper.__signature__ = inspect.Signature(params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


@_with_setting_flags
def train_command(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML config (see configs/); flags below override it."
    ),
    settings: list[str] = typer.Option(
        [], "--set", help="Any config key: --set key=value (repeatable; model.KEY, mix.GROUP)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the run folder's newest checkpoint."
    ),
    no_tcmalloc: bool = typer.Option(
        False, "--no-tcmalloc", help="Do not re-run under tcmalloc (used when installed)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    **flags: Any,
) -> None:
    """Train PoseGPT: checkpoints, metrics.jsonl, loss.png and the final model in --out."""
    use_tcmalloc(not no_tcmalloc)
    from posegpt.train.config import load_config, parse_override
    from posegpt.train.loop import train

    overrides = dict(parse_override(text) for text in settings)
    overrides.update({k: v for k, v in flags.items() if v is not None})
    if flags.get("steps") is not None:
        overrides["epochs"] = None
    result = train(load_config(config, overrides), resume=resume, progress=not quiet)
    if result.main_process:
        typer.echo(
            f"trained {result.steps} steps in {result.seconds:.0f} s; model: {result.final_dir}"
        )
        typer.echo(json.dumps({"train": result.train, "val": result.val}))


def refit_head_command(
    model: str = typer.Argument(..., help="Model folder or packaged name (default, small)."),
    data: Path = typer.Option(..., "--data", help="Dataset folder (its train and val splits)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the refitted model."),
    tasks: str = typer.Option(
        "text2pose,speculative,instruction", "--tasks", help="Comma-separated tasks to read."
    ),
    samples: int = typer.Option(4000, "--samples", min=1, help="Training conversations cached."),
    val_samples: int = typer.Option(256, "--val-samples", min=1, help="Validation ones."),
    epochs: int = typer.Option(40, "--epochs", min=1, help="Passes over the cached states."),
    lr: float = typer.Option(1e-3, "--lr", min=0.0, help="AdamW learning rate of the head."),
    seed: int = typer.Option(0, "--seed", help="Seed of the batch order."),
    gates_only: bool = typer.Option(
        False,
        "--gates-only",
        help="Train only the keep gates (a model without them is first grown by them).",
    ),
    words_only: bool = typer.Option(
        False,
        "--words-only",
        help="Train only the answers in conversations without a picture: a model without a "
        "photo head is first grown by one (a copy of the head that keeps answering photos).",
    ),
    keep: str = typer.Option(
        "best",
        "--keep",
        help="Which epoch's head to keep: best (lowest validation joint error) or last.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Refit a trained model's pose head alone on cached <POSE> hidden states (cheap extra
    passes for a large language model's head; the best epoch on validation is kept, or the
    last). Pictures are read from the detections the dataset stores, as in training."""
    import dataclasses

    from posegpt.data.dataset import PoseDataset
    from posegpt.errors import InvalidInputError
    from posegpt.model import load_chat_model, save_pretrained
    from posegpt.model.build import grow
    from posegpt.train.refit import refit_pose_head

    chosen = tuple(t.strip() for t in tasks.split(",") if t.strip())
    loaded = load_chat_model(model)
    if gates_only and words_only:
        raise InvalidInputError("--gates-only and --words-only: choose one")
    added = {"keep_gates": gates_only, "photo_head": words_only}
    added = {k: True for k, on in added.items() if on and not getattr(loaded.config, k)}
    if added:
        loaded = grow(loaded, dataclasses.replace(loaded.config, **added))
    result = refit_pose_head(
        loaded,
        PoseDataset(data, "train", seed=seed, tasks=chosen),
        PoseDataset(data, "val", seed=seed, tasks=chosen),
        samples=samples,
        val_samples=val_samples,
        epochs=epochs,
        lr=lr,
        seed=seed,
        part="gates" if gates_only else "words" if words_only else "head",
        keep=keep,
        progress=not quiet,
    )
    save_pretrained(loaded, out)
    typer.echo(json.dumps(dataclasses.asdict(result)))
    typer.echo(f"model: {out}")


def train_chooser_command(
    model: str = typer.Argument(..., help="Model folder or packaged name (default, small)."),
    data: list[Path] = typer.Option(
        ..., "--data", help="Dataset folder with stored detections (repeatable)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the model with its chooser."),
    bundle: str = typer.Option(
        "lite", "--bundle", help="BlazePose variant of the stored detections."
    ),
    epochs: int = typer.Option(60, "--epochs", min=1, help="Passes over the examples."),
    confidence: float = typer.Option(
        0.8,
        "--confidence",
        min=0.0,
        max=1.0,
        help="Least top share at which chat follows it (0.8: right 90% of the time on DATA20's "
        "val examples; BENCHMARKS.md).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights and the batch order."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Train a person chooser for a pose-tower model: which person in a picture of several a
    request means (RPE descriptions such as "the woman in the red shirt"); when it is sure of
    someone the answer missed, chat answers again reading only that person. The best epoch on
    the val split is kept."""
    import dataclasses

    from posegpt.errors import InvalidInputError
    from posegpt.model import load_chat_model, save_pretrained
    from posegpt.model.text_embedder import SentenceEmbedder
    from posegpt.train.chooser import chooser_examples, joined, train_chooser

    loaded = load_chat_model(model)
    if loaded.pose_tower is None:
        raise InvalidInputError("the person chooser needs a model with the pose tower")
    slots = loaded.config.tower_slots
    train, val = (
        joined([chooser_examples(root, split, slots, bundle, not quiet) for root in data])
        for split in ("train", "val")
    )
    loaded.chooser, result = train_chooser(
        train, val, SentenceEmbedder(), epochs, seed=seed, confidence=confidence, progress=not quiet
    )
    save_pretrained(loaded, out)
    typer.echo(json.dumps(dataclasses.asdict(result)))
    typer.echo(f"model: {out}")


def fit_prior_command(
    model: str = typer.Argument(..., help="Model folder or packaged name (default, small)."),
    data: list[Path] = typer.Option(
        ..., "--data", help="Dataset folder with person crops (repeatable)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the model with its prior."),
) -> None:
    """Give a model the pose prior of its training data's person crops, which `--refine blend`
    averages photo answers with a BlazePose fit from."""
    from posegpt.errors import InvalidInputError
    from posegpt.model import load_chat_model, save_pretrained
    from posegpt.train.prior import crop_pose_prior

    loaded = load_chat_model(model)
    if loaded.pose_tower is None:
        raise InvalidInputError("the pose prior refines photo answers: it needs the pose tower")
    loaded.pose_prior = crop_pose_prior(data)
    save_pretrained(loaded, out)
    typer.echo(f"model: {out}")


def add_situations_command(
    model: str = typer.Argument(..., help="Model folder or packaged name (default, small)."),
    data: Path = typer.Option(..., "--data", help="The dataset folder the model learned from."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the model with them."),
) -> None:
    """Give a model the SPG situations its training data asked about, which
    `--route-situations` tells apart from situations it never learned."""
    from posegpt.data.dataset import CARD_FILE
    from posegpt.data.formats import read_json
    from posegpt.errors import ModelFileError
    from posegpt.model import load_chat_model, save_pretrained
    from posegpt.synth.speculative import known_situations

    card = read_json(data / CARD_FILE)  # bounded; a named ModelFileError when unreadable
    try:
        seed = int(card["seed"])
    except (ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{data / CARD_FILE} names no seed: {err}") from err
    loaded = load_chat_model(model)
    loaded.situations = known_situations(seed)
    save_pretrained(loaded, out)
    typer.echo(f"model: {out}")


def soup_command(
    models: list[str] = typer.Argument(
        ..., help="Two or more model folders or packaged names, of one config and tokenizer."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the averaged model."),
) -> None:
    """Average the weights of models trained from the same start (a model soup)."""
    from posegpt.model import load_chat_model, save_pretrained
    from posegpt.model.soup import average_models

    save_pretrained(average_models([load_chat_model(m) for m in models]), out)
    typer.echo(f"model: {out}")
