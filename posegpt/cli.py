"""The `posegpt` command line: one sub-command group per stage."""

from __future__ import annotations

import sys

import typer

from posegpt.body.cli import app as body_app
from posegpt.data.cli import app as data_app
from posegpt.errors import PoseGPTError
from posegpt.eval.cli import app as eval_app
from posegpt.eval.cli import bench_command
from posegpt.serve.cli import chat, serve
from posegpt.train.cli import train_command

app = typer.Typer(
    help="posegpt: chat about 3D human pose.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(body_app, name="body")
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")
app.command("train")(train_command)
app.command("chat")(chat)
app.command("serve")(serve)
app.command("bench")(bench_command)


def main() -> None:
    """Entry point: run the CLI, reporting posegpt errors as one line on stderr (exit 2)."""
    try:
        app()
    except PoseGPTError as err:
        print(f"posegpt: error: {err}", file=sys.stderr)
        sys.exit(2)
