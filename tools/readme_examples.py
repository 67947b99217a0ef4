"""Regenerate the README's example answers: each example's request goes to a model, answered
as `posegpt chat` answers by default (`posegpt.chat_defaults`); its poses are drawn (front and
side views, several poses side by side, a photo beside its answer) into OUT/NAME.png, and the
replies are printed verbatim as a Markdown table.

    python tools/readme_examples.py --out docs/examples            # the packaged default model
    python tools/readme_examples.py --out /tmp/ex --model runs/x/final
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.chat_defaults import chat_options
from posegpt.model import load_chat_model
from posegpt.render.views import render_pose_views, save_png

#: A real photo (CC0, Lav Varshney; scikit-image's `camera.png`), kept beside the examples.
PHOTO = "cameraman.png"
SIZE = 256


@dataclass
class Example:
    """A conversation: user turns answered one after another (each answer's poses are read
    back by the next turn), optionally with a photo in the first, whose answers are refined to
    the photo's landmarks as `posegpt chat` does, unless `own` (`--refine none`)."""

    name: str
    turns: list[str]
    photo: str | None = None
    own: bool = False


EXAMPLES = [
    Example("proposal", ["What pose would someone proposing marriage be in?"]),
    Example("everyday", ["Lie on your back."]),
    Example("two_poses", ["Show me a person standing and then the same person sitting."]),
    Example("follow_up", ["Raise your right arm above your head.", "Now raise the left arm too."]),
    Example("edit", ["Raise both arms above your head.", "Lower your right arm to your side."]),
    Example("photo", ["What pose is the man with the camera in?"], PHOTO, own=True),
    Example("photo_refined", ["What pose is the man with the camera in?"], PHOTO),
    Example("not_a_request", ["How many legs does a person have?"]),
]


def run(example: Example, model, body, folder: Path) -> list[str]:
    """Ask the example's turns; draw the last turn's poses into folder/NAME.png; the replies."""
    messages: list[dict] = []
    replies = []
    image = Image.open(folder / example.photo).convert("RGB") if example.photo else None
    poses = []
    for turn in example.turns:
        messages.append({"role": "user", "content": turn})
        options = chat_options(model.pose_prior is not None)
        reply = model.chat(
            messages, image=image, **options.chat_kwargs(None if example.own else body)
        )
        messages.append({"role": "assistant", "content": reply.text, "poses": reply.poses})
        replies.append(reply.text)
        poses = reply.poses
    panels = []
    if image is not None:
        panels.append(np.asarray(image.resize((SIZE, SIZE))))
    if poses:
        vertices = body(torch.stack([p.float() for p in poses])).vertices
        panels.append(render_pose_views(list(vertices), body.faces, SIZE))
    if panels:
        save_png(folder / f"{example.name}.png", np.concatenate(panels, axis=1))
    return replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for NAME.png (and the photo)"
    )
    parser.add_argument("--model", default=None, help="model folder or packaged name")
    args = parser.parse_args()
    model, body = load_chat_model(args.model), load_body_model("anny")
    if not (args.out / PHOTO).is_file():
        raise SystemExit(f"put the example photo at {args.out / PHOTO}")
    print("| request | reply |\n|---|---|")
    for example in EXAMPLES:
        replies = run(example, model, body, args.out)
        for turn, reply in zip(example.turns, replies, strict=True):
            print(f"| {turn} | {reply} |")


if __name__ == "__main__":
    main()
