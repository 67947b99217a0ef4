"""Which model the chat front ends load: a folder given by the user, else the packaged default."""

from __future__ import annotations

import os
from pathlib import Path

from posegpt.errors import ModelFileError
from posegpt.model import PoseGPT, load_pretrained

#: Where a trained default model ships inside the package (a `save_pretrained` folder).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "model" / "default"


def load_chat_model(path: str | os.PathLike | None = None) -> PoseGPT:
    """Load the PoseGPT folder `path`, or the packaged default model when `path` is None."""
    if path is None:
        if not (DEFAULT_MODEL_DIR / "config.json").is_file():
            raise ModelFileError(
                f"no model given and no default model is installed in {DEFAULT_MODEL_DIR}; "
                "pass --model PATH (a folder written by posegpt training / save_pretrained) "
                "or set POSEGPT_MODEL"
            )
        path = DEFAULT_MODEL_DIR
    return load_pretrained(path)
