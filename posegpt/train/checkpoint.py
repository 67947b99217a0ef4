"""Training checkpoints: complete or absent, resumable after a crash or `kill -9`.

Layout of `OUT/checkpoints/step-00001000/`:
  state/         `Accelerator.save_state`: model (safetensors), optimizer, RNG states of every
                 process (DeepSpeed's own files under DeepSpeed); loaded with weights_only
  tokenizer/     the run's tokenizer
  trainer.json   step, data position, scheduler state and the run's config

Every process writes into `.step-00001000.tmp/`; when all are done the main process renames it
to `step-00001000/`, so a folder with the final name is always complete. Stale temporary
folders (from a crash while saving) are removed at the next save.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from transformers import PreTrainedTokenizerFast

from posegpt.data.formats import read_json, write_json
from posegpt.errors import ModelFileError
from posegpt.files import replace_dir

CHECKPOINTS = "checkpoints"
STATE = "state"
TOKENIZER = "tokenizer"
TRAINER = "trainer.json"
FORMAT = "posegpt-train"
VERSION = 1
_NAME = re.compile(r"^step-(\d{8})$")


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / CHECKPOINTS / f"step-{step:08d}"


def list_checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints of the run in `out`, oldest first."""
    folder = out / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def save_checkpoint(
    accelerator: Accelerator,
    out: Path,
    step: int,
    trainer: dict[str, Any],
    tokenizer: PreTrainedTokenizerFast,
    keep: int,
) -> Path:
    """Save the training state at `step` (all processes call this); keep the `keep` newest."""
    final = checkpoint_dir(out, step)
    tmp = final.with_name(f".{final.name}.tmp")
    if accelerator.is_main_process:
        for stale in final.parent.glob(".step-*.tmp"):
            shutil.rmtree(stale)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp / STATE))
    if accelerator.is_main_process:
        tokenizer.save_pretrained(tmp / TOKENIZER)
        write_json(tmp / TRAINER, {"format": FORMAT, "version": VERSION, **trainer})
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        replace_dir(tmp, final)  # replaces one of the same step from an earlier attempt
        for old in list_checkpoints(out)[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def read_trainer_state(path: Path) -> dict[str, Any]:
    """The trainer.json of the checkpoint folder `path`."""
    meta = read_json(path / TRAINER)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path / TRAINER} is not a posegpt training checkpoint")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{path}: unsupported checkpoint version {meta.get('version')}")
    return meta


def load_checkpoint(accelerator: Accelerator, path: Path) -> None:
    """Restore model, optimizer and RNG states saved by `save_checkpoint` (all processes)."""
    try:
        accelerator.load_state(str(path / STATE))
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"cannot load the checkpoint {path}: {err}") from err
