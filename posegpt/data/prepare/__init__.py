"""Converters from the datasets' published formats into a posegpt dataset folder
(`posegpt data prepare NAME --src DOWNLOADED --out DATA`), one module per dataset; the layout
they write is in `posegpt.data.prepare.common`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from posegpt.data.prepare import bedlam, eft, h36m, llava_instruct, posefix, posescript, pw3d, rpe
from posegpt.errors import InvalidInputError

#: name -> prepare(src, out, images=, amass_root=, posescript=, split=, skip_missing=, show=)
CONVERTERS: dict[str, Callable[..., dict]] = {
    "posescript": posescript.prepare,
    "posefix": posefix.prepare,
    "3dpw": pw3d.prepare,
    "h36m": h36m.prepare,
    "coco-eft": eft.prepare_coco,
    "mpii-eft": eft.prepare_mpii,
    "bedlam": bedlam.prepare,
    "llava-instruct": llava_instruct.prepare,
    "rpe": rpe.prepare,
}


def prepare_dataset(name: str, src: str | Path, out: str | Path, **options: object) -> dict:
    """Run converter `name` on the download `src`, writing its part of `out`; the card."""
    if name not in CONVERTERS:
        raise InvalidInputError(f"unknown dataset {name!r}; choose one of {', '.join(CONVERTERS)}")
    return CONVERTERS[name](Path(src), Path(out), **options)
