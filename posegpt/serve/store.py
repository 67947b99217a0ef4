"""The server's output folder: one sub-folder of pose files per session, oldest pruned first.

Lookups accept only names this store creates (a 32-hex-digit folder, `pose_K.npz|glb|png`) and
check that the resolved path is inside the root, so no request can reach any other file. Only
folders holding the store's marker file are ever pruned, so a user's own folders in `--out`
(32-hex names included) are never deleted. `temporary_root` gives `serve` a private folder in
the system temp dir that is removed on exit and on SIGTERM; folders of processes that died
(`kill -9`) are swept at the next start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from posegpt.errors import PoseGPTError

_FOLDER = re.compile(r"[0-9a-f]{32}")
_FILE = re.compile(r"pose_[0-9]{1,9}\.(npz|glb|png)")
#: The file that marks a session folder as made by the store (and so prunable).
MARKER = ".posegpt-session"
#: Prefix of `serve`'s temporary output folders: `posegpt-serve-PID-XXXX`.
TEMP_PREFIX = "posegpt-serve-"
_TEMP = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")


class OutputStore:
    """Session folders under `root`; at most `max_folders` are kept (least recently written go
    first). Requests that write nothing create no folder."""

    def __init__(self, root: str | os.PathLike, max_folders: int = 256) -> None:
        self.root = Path(root)
        self.max_folders = max_folders

    def check_writable(self) -> None:
        """Create the root if needed and write a probe file there; PoseGPTError if impossible
        (so a server fails at start, not on every request)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as err:
            raise PoseGPTError(
                f"cannot write to the output folder {self.root}: {err.strerror or err}"
            ) from err

    def reserve_folder(self) -> Path:
        """A fresh session folder's path (created by `claim` before the first file is written
        into it), after pruning the oldest folders beyond `max_folders`."""
        self._prune()
        return self.root / uuid.uuid4().hex

    def claim(self, folder: Path) -> None:
        """Create the session folder `folder` with the store's marker in it."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / MARKER).touch()
        except OSError as err:
            raise PoseGPTError(f"cannot write to {folder}: {err.strerror or err}") from err

    def find(self, folder: str, name: str) -> Path | None:
        """The file `name` of session `folder`, or None unless it is a file this store made."""
        if not (_FOLDER.fullmatch(folder) and _FILE.fullmatch(name)):
            return None
        root = self.root.resolve()
        path = (root / folder / name).resolve()
        if path.parent.parent != root or not path.is_file():
            return None
        if not (path.parent / MARKER).is_file():
            return None
        return path

    def relative(self, path: Path) -> tuple[str, str]:
        """(folder, name) of a file in one of this store's session folders."""
        path = Path(path).resolve()
        if path.parent.parent != self.root.resolve():
            raise ValueError(f"{path} is not in the output folder {self.root}")
        return path.parent.name, path.name

    def _prune(self) -> None:
        """Remove the least recently written of the store's folders, leaving room for one more."""
        if not self.root.is_dir():
            return
        folders = [
            p
            for p in self.root.iterdir()
            if _FOLDER.fullmatch(p.name) and p.is_dir() and (p / MARKER).is_file()
        ]
        excess = len(folders) - (self.max_folders - 1)
        if excess <= 0:
            return
        folders.sort(key=_mtime)
        for old in folders[:excess]:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def temporary_root() -> Iterator[Path]:
    """A private output folder `posegpt-serve-PID-XXXX` in the system temp dir, removed on
    exit, on an exception and on SIGTERM (turned into SystemExit while the folder exists);
    stale ones of dead processes are swept first."""
    sweep_stale_roots()
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    except ValueError:  # not the main thread: no handler, the folder is removed on exit
        previous = None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def sweep_stale_roots(temp_dir: str | os.PathLike | None = None) -> list[Path]:
    """Remove this user's `posegpt-serve-PID-*` folders whose process is gone; return them."""
    temp_dir = Path(temp_dir or tempfile.gettempdir())
    swept = []
    for path in temp_dir.glob(f"{TEMP_PREFIX}*"):
        match = _TEMP.match(path.name)
        with suppress(OSError):
            if not match or path.is_symlink() or not path.is_dir():
                continue
            if path.stat().st_uid != os.getuid() or _alive(int(match.group(1))):
                continue
            shutil.rmtree(path)
            swept.append(path)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned concurrently
        return 0.0
