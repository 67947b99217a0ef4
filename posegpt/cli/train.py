"""`posegpt train`: train a PoseGPT from a YAML config, with command-line overrides.

Multi-GPU / multi-node / DeepSpeed: the same command under `accelerate launch`, e.g.
`accelerate launch --use_deepspeed --deepspeed_config_file configs/deepspeed_zero2.json
-m posegpt.train --config configs/llava-1.5-lora.yaml`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posegpt.train.tcmalloc import use_tcmalloc


def train_command(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML config (see configs/); flags below override it."
    ),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (posegpt data synth)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder to write."),
    preset: str | None = typer.Option(None, "--preset", help="tiny, small, medium or llava-1.5."),
    llava_path: Path | None = typer.Option(
        None, "--llava-path", help="Local llava-hf checkpoint folder (llava-1.5 preset)."
    ),
    steps: int | None = typer.Option(None, "--steps", help="Optimizer steps."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Per process."),
    grad_accum: int | None = typer.Option(None, "--grad-accum", help="Micro-batches per step."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate."),
    bf16: bool | None = typer.Option(None, "--bf16/--no-bf16", help="bf16 autocast."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed."),
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
) -> None:
    """Train PoseGPT: checkpoints, metrics.jsonl, loss.png and the final model in --out."""
    use_tcmalloc(not no_tcmalloc)
    from posegpt.train.config import load_config, parse_override
    from posegpt.train.loop import train

    overrides = dict(parse_override(text) for text in settings)
    flags = {
        "data": data,
        "out": out,
        "preset": preset,
        "llava_path": llava_path,
        "steps": steps,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "lr": lr,
        "bf16": bf16,
        "seed": seed,
    }
    overrides.update(
        {k: str(v) if isinstance(v, Path) else v for k, v in flags.items() if v is not None}
    )
    if steps is not None:
        overrides["epochs"] = None
    result = train(load_config(config, overrides), resume=resume, progress=not quiet)
    if result.main_process:
        typer.echo(
            f"trained {result.steps} steps in {result.seconds:.0f} s; model: {result.final_dir}"
        )
        typer.echo(json.dumps({"train": result.train, "val": result.val}))
