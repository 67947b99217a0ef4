"""Bodies: the SMPL skeleton, rotation conversions, body models and pose/mesh files.

The body model classes load lazily (torch and anny are slow to import), so that importing a
light submodule, or the command line, does not pay for them.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posegpt.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

if TYPE_CHECKING:
    from posegpt.body.anny_body import AnnyBody
    from posegpt.body.base import BodyModel, BodyOutput
    from posegpt.body.smpl_body import SmplBody

__all__ = [
    "AnnyBody",
    "BodyModel",
    "BodyOutput",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "SmplBody",
    "load_body_model",
]

#: Lazily imported names and their modules.
_LAZY = {
    "AnnyBody": "posegpt.body.anny_body",
    "BodyModel": "posegpt.body.base",
    "BodyOutput": "posegpt.body.base",
    "SmplBody": "posegpt.body.smpl_body",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=4)
def load_body_model(name_or_path: str | None = None) -> BodyModel:
    """The body model to use: "anny" (default), "smpl" (from `SMPL_MODEL_PATH`) or a path to
    the user's own SMPL model file or folder. Instances are shared within a process."""
    from posegpt.body.smpl_body import SmplBody

    if name_or_path in (None, "", "anny"):
        from posegpt.body.anny_body import AnnyBody

        return AnnyBody().eval()
    if name_or_path == "smpl":
        return SmplBody(os.environ.get("SMPL_MODEL_PATH")).eval()
    return SmplBody(Path(name_or_path)).eval()
