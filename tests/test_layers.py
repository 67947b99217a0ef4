"""The layers import only downward: errors < records, files, images, chat_defaults, processes <
body < render < model < data < synth < train, eval < serve < cli (ARCHITECTURE.md). Lazy imports
inside functions count too; `__main__` modules are entry points and may import the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "posegpt"
#: Rank of each layer: a module may import its own layer and lower ranks only. Peers of equal
#: rank (train and eval) may not import each other.
RANKS = {
    "errors": 0,
    "records": 1,
    "files": 1,
    "images": 1,
    "chat_defaults": 1,
    "processes": 1,
    "body": 2,
    "render": 3,
    "model": 4,
    "data": 5,
    "synth": 6,
    "train": 7,
    "eval": 7,
    "serve": 8,
    "cli": 9,
}


def _layer(module: str) -> str | None:
    """`posegpt.data.formats` -> "data"; `posegpt` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "posegpt" else None


def _imports(path: Path) -> set[str]:
    """Every posegpt module `path` imports (absolute imports; the project uses no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name == "posegpt" or name.startswith("posegpt.")}
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def test_every_layer_is_ranked():
    layers = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}
    assert layers - {"__init__"} <= set(RANKS), sorted(layers - set(RANKS) - {"__init__"})


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_only_downward(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if own not in RANKS:
        return  # posegpt/__init__.py
    upward = []
    for module in _imports(path):
        layer = _layer(module)
        if layer is None or layer == own:
            continue
        if RANKS.get(layer, 99) >= RANKS[own]:
            upward.append(module)
    assert not upward, f"{path.relative_to(PACKAGE)} imports upward: {sorted(upward)}"
