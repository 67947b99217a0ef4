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
import zipfile
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from safetensors import SafetensorError, safe_open
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
#: Suffixes of the `torch.save` files (zip archives) in a checkpoint's state.
TORCH_SUFFIXES = (".bin", ".pt", ".pth", ".pkl")
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


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint folder `path` cannot be resumed from, or None if it is intact.

    Reads trainer.json, opens every safetensors file (its header must cover the file) and
    checks the CRC of every `torch.save` file (a zip archive), so a truncated or damaged file
    is found before any state is restored.
    """
    try:
        read_trainer_state(path)
    except ModelFileError as err:
        return str(err)
    state = path / STATE
    files = sorted(p for p in state.rglob("*") if p.is_file()) if state.is_dir() else []
    if not any(p.suffix == ".safetensors" for p in files):
        return f"{state} holds no model weights"
    for file in files:
        try:
            if file.suffix == ".safetensors":
                with safe_open(file, "pt"):
                    pass
            elif file.suffix in TORCH_SUFFIXES:
                with zipfile.ZipFile(file) as archive:
                    damaged = archive.testzip()
                if damaged is not None:
                    return f"{file} is damaged ({damaged})"
        except (OSError, SafetensorError, zipfile.BadZipFile, EOFError) as err:
            return f"{file} is damaged or cut short ({err})"
    return None


def load_checkpoint(accelerator: Accelerator, path: Path) -> None:
    """Restore model, optimizer and RNG states saved by `save_checkpoint` (all processes)."""
    try:
        accelerator.load_state(str(path / STATE))
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        raise ModelFileError(f"cannot load the checkpoint {path}: {err}") from err
