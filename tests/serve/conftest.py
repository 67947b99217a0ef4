"""A tiny PoseGPT overfitted for a few seconds to answer "give me the pose" with a pose, "hello"
with text and a photo question with a pose; saved once per session for the serve tests."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.model import build_model, load_pretrained, save_pretrained, train_tokenizer
from posegpt.serve.engine import ChatEngine


class Tiny:
    """What the tiny model was taught, and pictures to send it (the `tiny` fixture)."""

    POSE_REQUEST = "give me the pose"
    POSE_ANSWER = "Here is the pose: <POSE>."
    GREETING = "hello"
    GREETING_ANSWER = "Hello! Ask me for a pose."
    PHOTO_QUESTION = "what pose is this person in?"
    CONVERSATIONS = [
        ([GREETING, GREETING_ANSWER], False),
        ([POSE_REQUEST, POSE_ANSWER], False),
        ([GREETING, GREETING_ANSWER, POSE_REQUEST, POSE_ANSWER], False),
        ([POSE_REQUEST, POSE_ANSWER, GREETING, GREETING_ANSWER], False),
        ([f"<image>\n{PHOTO_QUESTION}", "<POSE>"], True),
    ]

    @staticmethod
    def photo() -> Image.Image:
        return Image.new("RGB", (40, 30), (200, 30, 30))

    @staticmethod
    def png_bytes(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    @staticmethod
    def png_bomb(width: int, height: int) -> bytes:
        """A small PNG file declaring a huge black 1-bit image (rows compressed as they go)."""
        row = b"\x00" * (1 + (width + 7) // 8)
        compress = zlib.compressobj(9)
        data = b"".join(compress.compress(row) for _ in range(height)) + compress.flush()

        def chunk(kind: bytes, body: bytes) -> bytes:
            crc = zlib.crc32(kind + body).to_bytes(4, "big")
            return len(body).to_bytes(4, "big") + kind + body + crc

        header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
        signature = b"\x89PNG\r\n\x1a\n"
        return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def tiny() -> type[Tiny]:
    return Tiny


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The overfitted tiny model, saved with save_pretrained."""
    texts = [" ".join(turns) for turns, _ in Tiny.CONVERSATIONS]
    tokenizer = train_tokenizer(texts * 5, vocab_size=400)
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer)
    generator = torch.Generator().manual_seed(0)
    samples = []
    for turns, with_photo in Tiny.CONVERSATIONS:
        roles = ["user", "assistant"] * (len(turns) // 2)
        messages = [{"role": r, "content": c} for r, c in zip(roles, turns, strict=True)]
        ids, labels = model.encode(messages)
        count = sum(t.count("<POSE>") for t in turns[1::2])
        poses = axis_angle_to_rotmat(torch.randn(count, 24, 3, generator=generator) * 0.4)
        sample = {"input_ids": ids, "labels": labels, "poses": poses}
        if with_photo:
            sample["pixel_values"] = model.preprocess(Tiny.photo())
        samples.append(sample)
    batch = model.collate_fn(samples)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(120):
        out = model(batch)
        loss = out.ce_loss + 0.1 * out.pose_loss  # the paper's weights
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return save_pretrained(model.eval(), tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="session")
def model(model_dir):
    return load_pretrained(model_dir)


@pytest.fixture(scope="session")
def body():
    return load_body_model()


@pytest.fixture
def make_engine(model, body, tmp_path):
    """make_engine(**limits) -> a ChatEngine writing under tmp_path/out."""

    def make(**limits) -> ChatEngine:
        return ChatEngine(model, body, tmp_path / "out", **limits)

    return make
