"""The `posegpt` command line: one sub-command group per stage, one module per group.

The only package that knows every command; no other layer imports it (entry points aside:
the `posegpt` console script and `python -m posegpt.train`)."""

from __future__ import annotations

import sys

import typer

from posegpt.cli.body import app as body_app
from posegpt.cli.data import app as data_app
from posegpt.cli.eval import app as eval_app
from posegpt.cli.eval import bench_command
from posegpt.cli.serve import chat_command, serve_command
from posegpt.cli.train import (
    add_situations_command,
    fit_prior_command,
    refit_head_command,
    soup_command,
    train_chooser_command,
    train_command,
)
from posegpt.errors import PoseGPTError

app = typer.Typer(
    help="posegpt: chat about 3D human pose.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(body_app, name="body")
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")
app.command("train")(train_command)
app.command("refit-head")(refit_head_command)
app.command("soup")(soup_command)
app.command("train-chooser")(train_chooser_command)
app.command("fit-prior")(fit_prior_command)
app.command("add-situations")(add_situations_command)
app.command("chat")(chat_command)
app.command("serve")(serve_command)
app.command("bench")(bench_command)


def main() -> None:
    """Entry point: run the CLI, reporting posegpt errors as one line on stderr (exit 2)."""
    try:
        app()
    except PoseGPTError as err:
        print(f"posegpt: error: {err}", file=sys.stderr)
        sys.exit(2)
