"""`posegpt chat` (interactive, or one question with --prompt) and `posegpt serve` (web + API)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from posegpt import chat_defaults
from posegpt.errors import PoseGPTError

if TYPE_CHECKING:
    import torch

    from posegpt.serve.engine import ChatEngine, EngineReply, Session

#: Models under this many parameters answer fastest on one CPU thread: each operation is too small
#: to share out (the default model's reply: 1.1 s on 2 threads of a busy 2-core machine, 0.03 s on
#: one). OMP_NUM_THREADS overrides.
ONE_THREAD_BELOW = 100_000_000
HELP = (
    "commands: /image PATH (photo for the next message), /pose FILE[:FRAME] (a pose for the next "
    "message), /reset, /save [FILE], /help, /quit"
)

MODEL = typer.Option(
    None,
    "--model",
    envvar="POSEGPT_MODEL",
    help="Model folder, or a packaged model: default, small (the previous default).",
)
BODY_MODEL = typer.Option(
    None, "--smpl-model-path", envvar="SMPL_MODEL_PATH", help="Your SMPL model file/folder."
)
MAX_NEW_TOKENS = typer.Option(64, "--max-new-tokens", min=1, help="Longest reply, in tokens.")
TEMPERATURE = typer.Option(0.0, "--temperature", min=0.0, max=2.0, help="0: greedy decoding.")
SEED = typer.Option(0, "--seed", help="Seed for sampling (with --temperature > 0).")
REPETITION_PENALTY = typer.Option(
    1.0,
    "--repetition-penalty",
    min=1.0,
    help="Over 1: words the answer already used (not the question's) get less likely, so "
    "'three ways to sit' gets three different poses (1.3 measured in BENCHMARKS.md).",
)
DECLINE_UNMATCHED = typer.Option(
    chat_defaults.DECLINE_UNMATCHED,
    "--decline-unmatched/--always-pose",
    help="Answer in words, with no pose, when the answer about a photo leans to refusing and "
    "its pose matches nobody in it (e.g. a description of someone not there); a few answers "
    "about people who are there are declined too (BENCHMARKS.md).",
)
KEEP_SIDES = typer.Option(
    chat_defaults.KEEP_SIDES,
    "--keep-sides/--any-side",
    help="When a request names one side only ('your right knee'), the answer cannot name the "
    "other (BENCHMARKS.md).",
)
STEPS_ALONE = typer.Option(
    chat_defaults.STEPS_ALONE,
    "--steps-alone/--steps-together",
    help="When a reply has as many poses as the request lists steps ('Squat, then jump'), each "
    "pose comes from its step asked alone (BENCHMARKS.md).",
)
COUNT_FROM_WORDS = typer.Option(
    chat_defaults.COUNT_FROM_WORDS,
    "--count-from-words/--any-count",
    help="When the request's words say how many poses ('two ways', 'sit, then lie back'), a "
    "reply that gives a pose gives that many (BENCHMARKS.md).",
)
ASK_AGAIN = typer.Option(
    chat_defaults.ASK_AGAIN,
    "--ask-again/--as-asked",
    help="A message that is no question and gets no pose ('cobra') is asked again for its "
    "pose, and answered so when that pose's words are close to it (BENCHMARKS.md).",
)
PHOTO_ASK_AGAIN = typer.Option(
    chat_defaults.PHOTO_ASK_AGAIN,
    "--photo-ask-again/--photo-as-asked",
    help="A question about a photo of someone that gets words only, and does not lean to "
    "refusing, is asked again for the pose (BENCHMARKS.md).",
)
ROUTE_SITUATIONS = typer.Option(
    chat_defaults.ROUTE_SITUATIONS,
    "--route-situations/--own-situations",
    help="A question about a situation the model never learned ('a girl practising "
    "self-defence'), answered with a guess, is answered with the pose family MiniLM finds "
    "nearest the situation (needs the model's known situations: posegpt add-situations; "
    "BENCHMARKS.md).",
)
NEAREST_FAMILY = typer.Option(
    chat_defaults.NEAREST_FAMILY,
    "--nearest-family/--own-family",
    help="A request for one pose that names no body part ('child's pose', 'sprinter in the "
    "blocks') is answered with the pose family MiniLM finds nearest it, when that family is "
    "clearly nearer than the answer's words (needs the model's known situations: posegpt "
    "add-situations; BENCHMARKS.md).",
)
REFINE = typer.Option(
    None,
    "--refine",
    help="Refine each answer about a photo to the BlazePose landmarks: 'orient' turns the body "
    "as the photo shows it, 'fit' also fits the limbs, 'auto' fits them in a photo of one person "
    "and turns the body in a photo of several, 'blend' averages the turned answer with a fit of "
    "the limbs the photo shows (needs the model's pose prior), 'auto-blend' blends in a photo "
    "of one person and turns the body in a photo of several, 'none' keeps the model's answer. "
    "Default: auto-blend for a model with a pose prior (the packaged default), else orient.",
    show_default=False,
)


def chat_command(
    prompt: str | None = typer.Option(
        None, "--prompt", "-p", help="Ask this once, write the answer to --out and exit."
    ),
    image: Path | None = typer.Option(None, "--image", help="A photo for the first message."),
    pose: list[str] = typer.Option(
        [],
        "--pose",
        help="A pose for the first message (repeatable): a posegpt .npz/.json pose file, or an "
        "AMASS/SMPL-H .npz sequence as FILE:FRAME (default frame 0).",
    ),
    out: Path = typer.Option(
        Path("posegpt-chat"), "--out", "-o", help="Folder for answer.json and the pose files."
    ),
    model: str | None = MODEL,
    body_model: str | None = BODY_MODEL,
    max_new_tokens: int = MAX_NEW_TOKENS,
    temperature: float = TEMPERATURE,
    seed: int = SEED,
    refine: str | None = REFINE,
    repetition_penalty: float = REPETITION_PENALTY,
    decline_unmatched: bool = DECLINE_UNMATCHED,
    keep_sides: bool = KEEP_SIDES,
    steps_alone: bool = STEPS_ALONE,
    count_from_words: bool = COUNT_FROM_WORDS,
    ask_again: bool = ASK_AGAIN,
    photo_ask_again: bool = PHOTO_ASK_AGAIN,
    route_situations: bool = ROUTE_SITUATIONS,
    nearest_family: bool = NEAREST_FAMILY,
) -> None:
    """Chat about poses. Each pose is written to --out as pose_K.npz, pose_K.glb, pose_K.png."""
    from posegpt.files import atomic_write_text

    poses = [_read_pose(spec) for spec in pose]
    options = _answer_options(locals())
    make_engine = functools.partial(
        _engine, model, body_model, out, max_new_tokens, temperature, seed, options
    )
    if prompt is None:
        with spinner("posegpt: loading the model"):
            engine = make_engine()
            engine.warm_up()
        _interactive(engine, engine.new_session(folder=out), image, poses)
        return
    engine = make_engine()
    session = engine.new_session(folder=out)
    reply = engine.reply(session, prompt, image, poses=poses or None)
    answer = reply.to_json(lambda path: path.name)
    atomic_write_text(out / "answer.json", json.dumps(answer, indent=2) + "\n")
    _show(reply)
    typer.echo(f"wrote {out / 'answer.json'}")


def serve_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (the server has no login)."
    ),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the pose files (default: a temporary folder)."
    ),
    max_pending: int = typer.Option(
        32, "--max-pending", min=1, help="Replies in progress or waiting; more get 503."
    ),
    model: str | None = MODEL,
    body_model: str | None = BODY_MODEL,
    max_new_tokens: int = MAX_NEW_TOKENS,
    temperature: float = TEMPERATURE,
    seed: int = SEED,
    refine: str | None = REFINE,
    repetition_penalty: float = REPETITION_PENALTY,
    decline_unmatched: bool = DECLINE_UNMATCHED,
    keep_sides: bool = KEEP_SIDES,
    steps_alone: bool = STEPS_ALONE,
    count_from_words: bool = COUNT_FROM_WORDS,
    ask_again: bool = ASK_AGAIN,
    photo_ask_again: bool = PHOTO_ASK_AGAIN,
    route_situations: bool = ROUTE_SITUATIONS,
    nearest_family: bool = NEAREST_FAMILY,
) -> None:
    """Serve the chat page at / and the HTTP API (/v1/chat, /health, /docs) on one port."""
    import uvicorn

    from posegpt.serve.server import server_config
    from posegpt.serve.store import temporary_root
    from posegpt.serve.web import create_app

    options = _answer_options(locals())
    with temporary_root() if out is None else nullcontext(out) as folder:
        engine = _engine(
            model, body_model, folder, max_new_tokens, temperature, seed, options, max_pending
        )
        typer.echo(f"posegpt: serving on http://{host}:{port}/ (files in {folder})")
        uvicorn.Server(server_config(create_app(engine), host, port)).run()


def _answer_options(parameters: dict[str, object]) -> chat_defaults.AnswerOptions:
    """The answer options of a command's `parameters` (its locals), which name them as
    `AnswerOptions` does."""
    fields = dataclasses.fields(chat_defaults.AnswerOptions)
    return chat_defaults.AnswerOptions(**{f.name: parameters[f.name] for f in fields})


def _engine(
    model: str | None,
    body_model: str | None,
    out: Path,
    max_new_tokens: int,
    temperature: float,
    seed: int,
    options: chat_defaults.AnswerOptions,
    max_pending: int = 1,
) -> ChatEngine:
    """The chat engine of `--model`, answering with `options` as `--refine` says: their
    `refine` None for `chat_defaults.default_refine` of the model, "none" for not refined."""
    from posegpt.body import load_body_model
    from posegpt.serve.engine import ChatEngine

    loaded = _load_model(model)
    refine = options.refine or chat_defaults.default_refine(loaded.pose_prior is not None)
    return ChatEngine(
        loaded,
        load_body_model(body_model),
        out,
        max_new_tokens=max_new_tokens,
        seed=seed,
        temperature=temperature,
        max_pending=max_pending,
        options=dataclasses.replace(options, refine=None if refine == "none" else refine),
    )


def _load_model(path: str | None):
    """The chat model, with torch on one CPU thread when the model is under ONE_THREAD_BELOW
    parameters (unless OMP_NUM_THREADS chooses)."""
    import torch

    from posegpt.model import load_chat_model

    if "OMP_NUM_THREADS" in os.environ:
        return load_chat_model(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = load_chat_model(path)
    if sum(p.numel() for p in model.parameters()) >= ONE_THREAD_BELOW:
        torch.set_num_threads(threads)
    return model


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """Show `message` with a spinner on stderr while the block runs (a plain line when stderr
    is not a terminal)."""
    if not sys.stderr.isatty():
        print(f"{message}...", file=sys.stderr, flush=True)
        yield
        return
    done = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle("|/-\\"):
            print(f"\r{message} {frame}", end="", file=sys.stderr, flush=True)
            if done.wait(0.1):
                break
        print(f"\r{message} done", file=sys.stderr, flush=True)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _read_pose(spec: str) -> torch.Tensor:
    """A pose (24, 3, 3) from FILE or FILE:FRAME (`posegpt.data.formats.read_pose_file`)."""
    from posegpt.data.formats import read_pose_file

    path, sep, frame = spec.rpartition(":")
    if sep and frame.isdigit():
        return read_pose_file(Path(path), int(frame))
    return read_pose_file(Path(spec))


def _interactive(
    engine: ChatEngine, session: Session, image: Path | None, poses: list[torch.Tensor]
) -> None:
    """Read messages and commands from stdin until /quit or end of input."""
    from posegpt.files import atomic_write_text

    typer.echo(f"posegpt chat: type a message. {HELP}")
    turns: list[dict] = []
    pixels = None if image is None else engine.load_image(image)
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            break
        command, _, arg = line.partition(" ")
        try:
            if not line:
                continue
            if command == "/quit":
                break
            if command == "/help":
                typer.echo(HELP)
            elif command == "/image":
                pixels = engine.load_image(Path(arg.strip()))
                typer.echo("image set for the next message")
            elif command == "/pose":
                poses.append(_read_pose(arg.strip()))
                typer.echo(f"{len(poses)} pose(s) set for the next message")
            elif command == "/reset":
                session.reset()
                turns.clear()
                pixels = None
                poses.clear()
                typer.echo("conversation reset")
            elif command == "/save":
                path = Path(arg.strip()) if arg.strip() else session.folder / "conversation.json"
                atomic_write_text(path, json.dumps({"turns": turns}, indent=2) + "\n")
                typer.echo(f"wrote {path}")
            elif command.startswith("/"):
                typer.echo(f"unknown command {command}; {HELP}")
            else:
                reply = engine.reply(session, line, pixels, poses=poses or None)
                pixels = None
                poses.clear()
                turns.append({"prompt": line, **reply.to_json(lambda path: path.name)})
                _show(reply)
        except PoseGPTError as err:
            typer.echo(f"posegpt: error: {err}", err=True)


def _show(reply: EngineReply) -> None:
    typer.echo(f"posegpt> {reply.text}")
    for pose in reply.poses:
        if pose.files:
            typer.echo("  " + "  ".join(str(path) for path in pose.files.values()))
