"""Training throughput (samples/s) of a preset on made-up conversations in the 2 : 1 : 1 mix.

python benchmarks/bench_train.py --preset small --bf16 --steps 40 --workers 0 [--no-tcmalloc]

Prints a table row: | preset | precision | tcmalloc | batch | threads | workers | samples/s |

Runs `posegpt.train.loop.train` itself (tokenizer, data loading, optimizer, logging) and
reports the median samples/s of the log windows after the first (warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.records import Conversation, Message
from posegpt.train.config import load_config
from posegpt.train.data import ConversationList
from posegpt.train.loop import train
from posegpt.train.tcmalloc import use_tcmalloc

SENTENCE = (
    "the person stands with the left arm raised above the head while the right knee is bent "
    "and the torso leans slightly forward with the head turned to the right and both hands open"
)
WORDS = SENTENCE.split(" ")


def conversations(root: Path, count: int) -> ConversationList:
    """`count` conversations: image->pose (224 px pictures), text->pose (about 60-word
    descriptions) and short chats, in equal numbers."""
    rng = np.random.default_rng(0)
    items = []
    for i in range(count):
        pose = [axis_angle_to_rotmat(torch.from_numpy(rng.normal(0, 0.4, (24, 3))).float())]
        kind = i % 3
        if kind == 0:
            name = f"{i}.png"
            Image.fromarray(rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)).save(root / name)
            question = "<image>\nCan you predict the SMPL pose of the person in this image?"
            messages = [Message("user", question), Message("assistant", "The SMPL pose is <POSE>.")]
            items.append(Conversation(messages, pose, name, "image2pose"))
        elif kind == 1:
            description = " ".join(rng.choice(WORDS, 60))
            question = f"There is a person: {description}. Please output this person's SMPL pose."
            messages = [Message("user", question), Message("assistant", "Sure, it is <POSE>.")]
            items.append(Conversation(messages, pose, None, "text2pose"))
        else:
            question = " ".join(rng.choice(WORDS, 20)) + "?"
            answer = " ".join(rng.choice(WORDS, 30)) + "."
            messages = [Message("user", question), Message("assistant", answer)]
            items.append(Conversation(messages, [], None, "instruction"))
    return ConversationList(items, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes.")
    parser.add_argument("--no-tcmalloc", action="store_true")
    args = parser.parse_args()
    use_tcmalloc(not args.no_tcmalloc)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = conversations(Path(tmp), 3 * args.batch)
        settings = {
            "out": f"{tmp}/run",
            "preset": args.preset,
            "bf16": args.bf16,
            "batch_size": args.batch,
            "steps": args.steps,
            "log_every": 5,
            "warmup_steps": 5,
            "eval_every": 0,
            "checkpoint_every": 0,
            "num_workers": args.workers,
        }
        result = train(load_config(None, settings), data, progress=False)
        lines = result.out.joinpath("metrics.jsonl").read_text().splitlines()
    rates = [json.loads(line)["samples_per_s"] for line in lines][1:]
    tcmalloc = "tcmalloc" in os.environ.get("LD_PRELOAD", "")
    print(
        f"| {args.preset} | {'bf16' if args.bf16 else 'fp32'} | {tcmalloc} | {args.batch} "
        f"| {args.threads} | {args.workers} | {statistics.median(rates):.1f} |"
    )


if __name__ == "__main__":
    main()
