"""The server's output folder: one sub-folder of pose files per session, oldest pruned first.

Lookups accept only names this store creates (a 32-hex-digit folder, `pose_K.npz|glb|png`) and
check that the resolved path is inside the root, so no request can reach any other file.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

_FOLDER = re.compile(r"[0-9a-f]{32}")
_FILE = re.compile(r"pose_[0-9]{1,9}\.(npz|glb|png)")


class OutputStore:
    """Session folders under `root`; at most `max_folders` are kept (least recently written go
    first). Requests that write nothing create no folder."""

    def __init__(self, root: str | os.PathLike, max_folders: int = 256) -> None:
        self.root = Path(root)
        self.max_folders = max_folders

    def reserve_folder(self) -> Path:
        """A fresh session folder's path (created by the first file written into it), after
        pruning the oldest folders beyond `max_folders`."""
        self._prune()
        return self.root / uuid.uuid4().hex

    def find(self, folder: str, name: str) -> Path | None:
        """The file `name` of session `folder`, or None unless it is a file this store made."""
        if not (_FOLDER.fullmatch(folder) and _FILE.fullmatch(name)):
            return None
        root = self.root.resolve()
        path = (root / folder / name).resolve()
        if path.parent.parent != root or not path.is_file():
            return None
        return path

    def relative(self, path: Path) -> tuple[str, str]:
        """(folder, name) of a file in one of this store's session folders."""
        path = Path(path).resolve()
        if path.parent.parent != self.root.resolve():
            raise ValueError(f"{path} is not in the output folder {self.root}")
        return path.parent.name, path.name

    def _prune(self) -> None:
        """Remove the least recently written folders, leaving room for one more."""
        if not self.root.is_dir():
            return
        folders = [p for p in self.root.iterdir() if p.is_dir() and _FOLDER.fullmatch(p.name)]
        excess = len(folders) - (self.max_folders - 1)
        if excess <= 0:
            return
        folders.sort(key=_mtime)
        for old in folders[:excess]:
            shutil.rmtree(old, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned concurrently
        return 0.0
