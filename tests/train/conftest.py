"""Tiny training data for the training tests: in-memory conversations and a dataset folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.data.formats import HmrData, coco17_to_hmr24, write_hmr, write_llava, write_posescript
from posegpt.records import Conversation, Message
from posegpt.train.config import load_config
from posegpt.train.data import ConversationList

DESCRIPTIONS = [
    "The person raises both arms above the head.",
    "Someone squats low with the knees bent.",
    "A man kicks forward with his right leg.",
    "The woman leans to the left.",
    "The person waves the left hand.",
    "Someone sits on the floor.",
    "The person bows forward.",
    "A child jumps with the arms out.",
]
COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 230, 30)]
#: Settings that keep a run to a second or two.
FAST = {
    "preset": "tiny",
    "vocab_size": 400,
    "batch_size": 4,
    "warmup_steps": 2,
    "log_every": 5,
    "eval_every": 0,
    "eval_items": 8,
    "checkpoint_every": 0,
}


def random_poses(n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return axis_angle_to_rotmat(torch.randn(n, 24, 3, generator=generator) * 0.4)


def fast_config(out: Path, **overrides):
    return load_config(None, {**FAST, "out": str(out), **overrides})


def conversations(root: Path) -> ConversationList:
    """8 text->pose, 4 image->pose (coloured squares written under `root`), 1 plain chat."""
    root.mkdir(parents=True, exist_ok=True)
    poses = random_poses(12, seed=0)
    items = []
    for description, pose in zip(DESCRIPTIONS, poses, strict=False):
        question, answer = f"{description} Give the SMPL pose.", "Sure, the SMPL pose is <POSE>."
        items.append(_one_turn(question, answer, [pose], "text2pose"))
    for i, colour in enumerate(COLOURS):
        Image.new("RGB", (40, 40), colour).save(root / f"{i}.png")
        question = "<image>\nCan you predict the SMPL pose of the person in this image?"
        item = _one_turn(question, "<POSE>.", [poses[8 + i]], "image2pose")
        item.image = f"{i}.png"
        items.append(item)
    items.append(_one_turn("What colour is the sky?", "The sky is blue.", [], "instruction"))
    return ConversationList(items, root)


def _one_turn(question: str, answer: str, poses: list, task: str) -> Conversation:
    return Conversation(
        [Message("user", question), Message("assistant", answer)], poses, None, task
    )


@pytest.fixture(scope="session")
def make_data():
    """make_data(root): the in-memory conversations, images under `root`."""
    return conversations


@pytest.fixture(scope="session")
def make_config():
    """make_config(out, **overrides): a TrainConfig for a run of a second or two."""
    return fast_config


@pytest.fixture(scope="session")
def make_poses():
    """make_poses(n, seed): n random (24, 3, 3) poses."""
    return random_poses


@pytest.fixture
def data(tmp_path) -> ConversationList:
    return conversations(tmp_path / "images")


def write_dataset(root: Path) -> Path:
    """A dataset folder in the layout `posegpt data synth` writes, made with the format
    writers: 8 text poses (6 train, 2 val), 3 people in one image, 2 instruction chats."""
    write_posescript(
        root / "text2pose",
        random_poses(8, seed=1),
        {i: DESCRIPTIONS[i] for i in range(8)},
        {i: [f"{DESCRIPTIONS[i]} Automatic."] for i in range(8)},
        {"train": [0, 1, 2, 3, 4, 5], "val": [6, 7]},
    )
    picture = np.zeros((64, 64, 3), dtype=np.uint8)
    picture[:, 32:] = 200
    (root / "images").mkdir(parents=True)
    Image.fromarray(picture).save(root / "images/scene.png")
    hmr = HmrData(
        imgname=np.array(["scene.png"] * 3),
        center=np.array([[16, 32], [32, 32], [48, 32]], dtype=np.float32),
        scale=np.array([0.15, 0.15, 0.15], dtype=np.float32),
        pose=random_poses(3, seed=2),
        shape=np.zeros((3, 10), dtype=np.float32),
        part=coco17_to_hmr24(np.zeros((3, 17, 3))),
    )
    write_hmr(root / "image2pose/train.npz", hmr)
    chats = [
        _one_turn("What colour is the sky?", "The sky is blue.", [], "instruction"),
        _one_turn("How many legs does a person have?", "Two.", [], "instruction"),
    ]
    write_llava(root / "instructions/train.json", chats)
    return root


@pytest.fixture
def dataset_dir(tmp_path) -> Path:
    return write_dataset(tmp_path / "dataset")
