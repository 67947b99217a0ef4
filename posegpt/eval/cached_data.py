"""The dataset `posegpt bench` uses when none is given: a small synthetic set, built once.

It lives in `$POSEGPT_CACHE_DIR` (default `~/.cache/posegpt`) under a name that spells its
settings, is built into a temporary folder and renamed into place when complete, and is reused
by later runs (a folder without a dataset card is incomplete and is rebuilt).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from posegpt.data.dataset import CARD_FILE
from posegpt.files import replace_dir
from posegpt.synth.engine import SynthConfig, synthesize

#: Sizes of the cached set (totals over the splits): enough for `bench --quick`.
SIZES = {"text_poses": 600, "scenes": 80, "spg": 300, "instructions": 200}
IMAGE_SIZE, CROP_SIZE = 160, 128


def cache_dir() -> Path:
    """posegpt's cache folder: $POSEGPT_CACHE_DIR, else $XDG_CACHE_HOME/posegpt or
    ~/.cache/posegpt."""
    if os.environ.get("POSEGPT_CACHE_DIR"):
        return Path(os.environ["POSEGPT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posegpt"


def cached_bench_data(seed: int = 0, progress: bool = True) -> Path:
    """The small synthetic dataset for `seed`: reused if built before, else built now (1-2
    minutes on 2 cores), saying which on stderr."""
    sizes = "-".join(str(v) for v in SIZES.values())
    path = cache_dir() / f"bench-synth-seed{seed}-{sizes}-{IMAGE_SIZE}-{CROP_SIZE}"
    if (path / CARD_FILE).is_file():
        print(f"posegpt: no --data given: using the small synthetic set in {path}", file=sys.stderr)
        return path
    print(
        f"posegpt: no --data given: building a small synthetic set in {path} "
        "(once, 1-2 minutes; later runs reuse it)",
        file=sys.stderr,
        flush=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        config = SynthConfig(
            out=tmp,
            seed=seed,
            image_size=IMAGE_SIZE,
            crop_size=CROP_SIZE,
            overwrite=True,
            command="posegpt bench (default data)",
            **SIZES,
        )
        synthesize(config, progress=progress)
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
