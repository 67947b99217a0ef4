"""Run under tcmalloc when it is installed: 1.3-1.5x faster, steadier CPU training steps.

The allocator must be preloaded when the process starts, so `use_tcmalloc()` re-executes the
current command once with `LD_PRELOAD` set (Debian: `apt-get install libtcmalloc-minimal4`).
`POSEGPT_TCMALLOC` guards against loops: set it to 0 to opt out (as `--no-tcmalloc` does).
"""

from __future__ import annotations

import ctypes.util
import os
import sys

ENV_FLAG = "POSEGPT_TCMALLOC"
LIBRARIES = ("tcmalloc_minimal", "tcmalloc")


def find_tcmalloc() -> str | None:
    """The tcmalloc shared library's name (e.g. `libtcmalloc_minimal.so.4`), or None."""
    for name in LIBRARIES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def use_tcmalloc(enabled: bool = True) -> None:
    """Re-execute this process with tcmalloc preloaded, unless disabled, done or unavailable."""
    if os.environ.get(ENV_FLAG) is not None:
        return
    os.environ[ENV_FLAG] = "0"  # children (DataLoader workers, a re-exec) inherit the decision
    library = find_tcmalloc() if enabled else None
    preload = os.environ.get("LD_PRELOAD", "")
    if library is None or "tcmalloc" in preload:
        return
    os.environ[ENV_FLAG] = "1"
    os.environ["LD_PRELOAD"] = f"{library}:{preload}" if preload else library
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
