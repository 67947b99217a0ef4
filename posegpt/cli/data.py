"""`posegpt data ...`: write a synthetic dataset, look at a dataset."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import typer

from posegpt.errors import InvalidInputError
from posegpt.processes import available_cores

app = typer.Typer(
    help="Datasets: synthesize one, convert a real one, look at one.", no_args_is_help=True
)

MAX_SHOW = 64


@app.command()
def synth(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to write."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed, the same dataset."),
    draw: int = typer.Option(
        0,
        "--draw",
        help="Another draw under the same seed: new poses, pictures and wordings, the seed's "
        "splits (held-out items, situations, templates and phrasings) kept.",
    ),
    text_poses: int = typer.Option(1000, "--text-poses", help="Text-pose pairs (poses)."),
    captions: int = typer.Option(3, "--captions", help="Captions per text pose."),
    scenes: int = typer.Option(200, "--scenes", help="Rendered scenes (1-4 people each)."),
    spg: int = typer.Option(500, "--spg", help="Speculative (situation -> pose) conversations."),
    instructions: int = typer.Option(500, "--instructions", help="Instruction conversations."),
    pose_tasks: int = typer.Option(
        500, "--pose-tasks", help="Conversations that read poses (describe, edit, compare...)."
    ),
    image_size: int = typer.Option(224, "--image-size", help="Scene image side, pixels."),
    crop_size: int = typer.Option(224, "--crop-size", help="Person crop side, pixels."),
    partial_crops: float = typer.Option(
        0.2,
        "--partial-crops",
        help="Share of person crops framed from the waist or thighs up (legs out of the picture).",
    ),
    wild_poses: float = typer.Option(
        0.0,
        "--wild-poses",
        help="Share of the people in scenes posed far from their family's template "
        "(12 degrees of noise per body joint and axis instead of 3), as people in photos pose.",
    ),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of items for val."),
    test_fraction: float = typer.Option(0.1, "--test-fraction", help="Share of items for test."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset in OUT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write a synthetic dataset in the real layouts, with a dataset card."""
    from posegpt.synth.engine import SynthConfig, synthesize

    cfg = SynthConfig(
        out=out,
        seed=seed,
        draw=draw,
        text_poses=text_poses,
        captions_per_pose=captions,
        scenes=scenes,
        image_size=image_size,
        crop_size=crop_size,
        partial_crops=partial_crops,
        wild_poses=wild_poses,
        spg=spg,
        instructions=instructions,
        pose_tasks=pose_tasks,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        overwrite=overwrite,
        command=_command(ctx),
    )
    card = synthesize(cfg, progress=not quiet)
    totals = {task: sum(by_split.values()) for task, by_split in card["counts"].items()}
    typer.echo(f"wrote {out}: " + ", ".join(f"{n} {task}" for task, n in totals.items()))
    typer.echo(f"speed: {json.dumps(card['speed'])}")


@app.command("pose-tasks")
def pose_tasks(
    root: Path = typer.Argument(..., help="Dataset folder with text2pose/ (its own is replaced)."),
    n: int = typer.Option(3000, "--n", help="Conversations to write, over the splits."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write the conversations that read poses (describe, edit, compare, follow-up chains,
    corrections) into a dataset's pose_input/, from its text poses."""
    from posegpt.synth.engine import write_pose_tasks

    written = write_pose_tasks(root, n, seed, progress=not quiet)
    typer.echo(
        f"wrote {root}/pose_input: " + ", ".join(f"{len(c)} {s}" for s, c in written.items())
    )


@app.command()
def tower(
    data: Path = typer.Argument(..., help="Dataset folder (pictures under DATA/images)."),
    bundle: str = typer.Option(
        "lite",
        "--bundle",
        help="BlazePose variant, lite or heavy: the one the model to train reads "
        "(`model.tower_bundle`).",
    ),
    reuse: Path | None = typer.Option(
        None,
        "--reuse",
        help="A dataset whose stored detections are taken for pictures identical to its own "
        "(e.g. the same synth command before a change to the words): only new pictures are run.",
    ),
    workers: int = typer.Option(
        available_cores(),
        "--workers",
        min=1,
        help="Processes that run BlazePose side by side, each on its own pictures (default: one "
        "per CPU core this process may use); the detections do not depend on it.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Run the pose tower's detector (BlazePose) once over a dataset's pictures and store what
    it finds in DATA/pose_tower/, so that training with `model.pose_tower=blazepose` reads it."""
    from posegpt.model.pose_tower.cache import build_cache, read_cache

    path, reused = build_cache(data, bundle, progress=not quiet, reuse=reuse, workers=workers)
    people = read_cache(data, bundle)
    found = sum(bool(p) for p in people.values())
    typer.echo(
        f"wrote {path}: {len(people)} pictures, {sum(map(len, people.values()))} people, "
        f"someone found in {found}" + (f"; {reused} reused from {reuse}" if reuse else "")
    )


@app.command()
def prepare(
    name: str = typer.Argument(
        ...,
        help="posescript, posefix, 3dpw, h36m, coco-eft, mpii-eft, bedlam, llava-instruct or rpe.",
    ),
    src: Path = typer.Option(..., "--src", help="The download, as published (file or folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to add this dataset to."),
    images: Path | None = typer.Option(None, "--images", help="The dataset's image folder."),
    amass_root: Path | None = typer.Option(
        None, "--amass-root", help="AMASS npz root (posescript, posefix)."
    ),
    posescript: Path | None = typer.Option(
        None, "--posescript", help="PoseScript folder with the captions of pose A (posefix)."
    ),
    split: str | None = typer.Option(None, "--split", help="train, val or test (h36m, bedlam)."),
    skip_missing: bool = typer.Option(
        False, "--skip-missing", help="Leave out poses whose AMASS file is absent."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Convert a downloaded dataset into a posegpt dataset folder; prints its card."""
    from posegpt.data.prepare import prepare_dataset

    card = prepare_dataset(
        name,
        src,
        out,
        images=images,
        amass_root=amass_root,
        posescript=posescript,
        split=split,
        skip_missing=skip_missing,
        show=not quiet,
    )
    typer.echo(json.dumps(card, indent=1))


@app.command()
def show(
    root: Path = typer.Argument(..., help="Dataset folder."),
    n: int = typer.Option(4, "--n", help="Samples per task."),
    split: str = typer.Option("train", "--split", help="train, val, test or test_seen."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Contact sheet PNG to write."),
    size: int = typer.Option(128, "--size", help="Panel size of the contact sheet, pixels."),
) -> None:
    """Print a few samples of each task; optionally draw them on a contact sheet."""
    from posegpt.data.dataset import CARD_FILE, TASKS, PoseDataset

    if not 1 <= n <= MAX_SHOW:
        raise InvalidInputError(f"--n must be 1..{MAX_SHOW}, got {n}")
    dataset = PoseDataset(root, split)
    card = root / CARD_FILE
    if card.exists():
        from posegpt.data.formats import read_json

        typer.echo(f"card: {json.dumps(read_json(card).get('counts', {}))}")
    shown = []
    for task in TASKS:
        size_of = dataset.sizes[task]
        typer.echo(f"== {task}: {size_of} items in {split}")
        for i in np.linspace(0, size_of - 1, min(n, size_of)).round().astype(int):
            conversation = dataset[dataset.offsets[task] + int(i)]
            shown.append(conversation)
            typer.echo(_describe(conversation))
    if out is not None:
        if not shown:
            raise InvalidInputError(f"{root} has no {split} samples to draw")
        from posegpt.render.views import save_png

        save_png(out, contact_sheet(dataset, shown, size))
        typer.echo(f"wrote {out}")


def _command(ctx: typer.Context) -> str:
    """The command line that reproduces this run (all options spelled out)."""
    words = ["posegpt", "data", ctx.info_name or "synth"]
    for name, value in ctx.params.items():
        option = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words += [option] if value else []
        else:
            words += [option, str(value)]
    return shlex.join(words)


def _describe(conversation) -> str:
    meta = {k: v for k, v in conversation.meta.items() if k in ("family", "situation", "kind")}
    lines = [f"-- {conversation.task} {json.dumps(meta)} image={conversation.image}"]
    lines += [f"   {m.role}: {m.content}" for m in conversation.messages]
    return "\n".join(lines)


def contact_sheet(dataset, conversations: list, size: int = 128) -> np.ndarray:
    """One row per conversation: its image (or a blank panel) with the task written on it, then
    its first target pose from the front and the side."""
    import torch
    from PIL import Image, ImageDraw

    from posegpt.body import load_body_model
    from posegpt.render.views import render_pose_views

    body = load_body_model()
    rows = []
    for conversation in conversations:
        image = dataset.load_image(conversation)
        panel = Image.new("RGB", (size, size), (255, 255, 255))
        if image is not None:
            image.thumbnail((size, size))
            panel.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
        ImageDraw.Draw(panel).text((3, 2), conversation.task, fill=(200, 0, 0))
        pose = np.full((size, 2 * size, 3), 255, dtype=np.uint8)
        if conversation.poses:
            rotmat = conversation.poses[0]  # POSE_FRAME for every task
            with torch.no_grad():
                vertices = body(rotmat[None]).vertices[0]
            pose = render_pose_views(vertices, body.faces, size=size)
        rows.append(np.concatenate([np.asarray(panel), pose], axis=1))
    return np.concatenate(rows, axis=0)
