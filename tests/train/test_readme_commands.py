"""The README's commands that fine-tune the packaged default build a model it can start from."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from posegpt.model.build import can_grow, differing_settings, switched
from posegpt.train.config import load_config, parse_override
from posegpt.train.loop import read_model_config

README = Path(__file__).resolve().parents[2] / "README.md"


def _fine_tuning_commands() -> list[list[str]]:
    """The README's `posegpt train ... --init-from default` commands, as argument lists."""
    text = README.read_text().replace("\\\n", " ")
    lines = re.findall(r"^posegpt train .*$", text, flags=re.MULTILINE)
    return [shlex.split(line) for line in lines if "--init-from default" in line]


def _option_values(args: list[str], option: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == option]


COMMANDS = _fine_tuning_commands()


def test_the_readme_fine_tunes_the_default():
    assert len(COMMANDS) >= 3


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: _option_values(args, "--out")[0])
def test_a_readme_fine_tuning_command_fits_the_default(args):
    (config_file,) = _option_values(args, "--config")
    overrides = dict(parse_override(text) for text in _option_values(args, "--set"))
    (start_name,) = _option_values(args, "--init-from")
    overrides["init_from"] = start_name
    wanted = load_config(README.parent / config_file, overrides).model_config()
    start = switched(read_model_config(start_name), wanted)
    assert not differing_settings(start, wanted) or can_grow(start, wanted)
    if overrides.get("train_only_grown"):
        assert can_grow(start, wanted)  # else nothing would train
