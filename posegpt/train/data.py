"""Conversations -> model batches for training: sources, encoding, and resumable batch order.

A training source is anything shaped like `posegpt.data.dataset.PoseDataset`: `sizes` and
`offsets` (items per task, laid out task by task), `set_epoch`, `__getitem__` -> Conversation
and `load_image(conversation)`. `ConversationList` makes one from in-memory conversations.

The batch order is one endless sequence of mixed batches (`MixtureSampler`, epoch after
epoch); process `rank` of `world` takes batches rank, rank + world, ... From a saved position
(batches consumed) the same sequence continues, so a resumed run sees the same data.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from transformers import BaseImageProcessor, PreTrainedTokenizerFast

from posegpt.data.dataset import TASKS
from posegpt.data.images import crop_square, open_image
from posegpt.data.sampler import MixtureSampler
from posegpt.errors import InvalidInputError
from posegpt.model import PoseGPTConfig, encode_conversation, preprocess_image
from posegpt.model.pose_tower.cache import TowerInputs, stored_bundle
from posegpt.model.tokenizer import IMAGE_TOKEN, token_id
from posegpt.records import POSE_INPUT_TOKEN, POSE_TOKEN, Conversation

#: Most conversations read to train the tokenizer (spread evenly over the source).
MAX_CORPUS_ITEMS = 50_000

Key = tuple[int, int]  # (epoch, item index)


class ConversationSource(Protocol):
    """What training reads conversations from (PoseDataset, ConversationList)."""

    sizes: dict[str, int]
    offsets: dict[str, int]

    def set_epoch(self, epoch: int) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Conversation: ...
    def load_image(self, conversation: Conversation) -> Image.Image | None: ...


class ConversationList(Dataset):
    """In-memory conversations as a source; image paths are relative to `root`."""

    def __init__(
        self, conversations: Sequence[Conversation], root: str | os.PathLike | None = None
    ) -> None:
        unknown = {c.task for c in conversations} - set(TASKS)
        if unknown:
            raise InvalidInputError(f"unknown tasks {sorted(unknown)}; valid: {TASKS}")
        self.items = sorted(conversations, key=lambda c: TASKS.index(c.task))
        self.root = Path(root) if root is not None else None
        self.sizes = {t: sum(c.task == t for c in self.items) for t in TASKS}
        starts = np.cumsum([0, *self.sizes.values()]).tolist()
        self.offsets = dict(zip(TASKS, starts, strict=False))

    def set_epoch(self, epoch: int) -> None:
        """Nothing to do: in-memory conversations are worded once."""

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Conversation:
        return self.items[index]

    def load_image(self, conversation: Conversation) -> Image.Image | None:
        """The conversation's image (cropped to `meta["crop_box"]` if set), or None."""
        if conversation.image is None:
            return None
        if self.root is None:
            raise InvalidInputError("conversations with images need the image root folder")
        image = open_image(self.root / conversation.image)
        box = conversation.meta.get("crop_box")
        return crop_square(image, box) if box is not None else image


def corpus(source: ConversationSource) -> Iterator[str]:
    """The message texts of (up to MAX_CORPUS_ITEMS of) the source's conversations."""
    source.set_epoch(0)
    count = min(len(source), MAX_CORPUS_ITEMS)
    for index in np.linspace(0, len(source) - 1, count).round().astype(int):
        for message in source[int(index)].messages:
            yield message.content


class EncodedDataset(Dataset):
    """Keys (epoch, index) -> model samples: `input_ids`, `labels`, `poses`, `input_poses`,
    `pixel_values` (with the pose tower: the picture's person features, from the dataset's
    stored detections).

    Conversations longer than `max_len` tokens are cut at the end (before an input pose's
    placeholders if the cut would split them); poses whose `<POSE>` or `<pose_in>` was cut are
    dropped. Picklable, so DataLoader workers can use it.
    """

    def __init__(
        self,
        source: ConversationSource,
        tokenizer: PreTrainedTokenizerFast,
        config: PoseGPTConfig,
        max_len: int,
        image_processor: BaseImageProcessor | None = None,
    ) -> None:
        self.source, self.tokenizer, self.config, self.max_len = source, tokenizer, config, max_len
        self.image_processor = image_processor  # the pretrained checkpoint's, if any
        self.pose_id = token_id(tokenizer, POSE_TOKEN)
        self.image_id = token_id(tokenizer, IMAGE_TOKEN)
        self.tower = None
        if config.pose_tower != "none":
            # the detections the dataset stores, whichever variant the model reads at run time
            root = getattr(source, "root", None)
            bundle = (stored_bundle(root) if root is not None else None) or config.tower_bundle
            self.tower = TowerInputs(root, config.tower_slots, bundle, config.tower_colours)
        reads = config.pose_seq_length and POSE_INPUT_TOKEN in tokenizer.get_vocab()
        self.pose_input_id = token_id(tokenizer, POSE_INPUT_TOKEN) if reads else None

    def _cut(self, ids: torch.Tensor) -> int:
        """Where to cut `ids` to at most max_len tokens without splitting an input pose."""
        cut = min(len(ids), self.max_len)
        if self.pose_input_id is None or cut == len(ids):
            return cut
        k = self.config.pose_seq_length
        where = (ids[:cut] == self.pose_input_id).nonzero()[:, 0]
        return int(where[len(where) // k * k]) if len(where) % k else cut

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        epoch, index = key
        if getattr(self.source, "epoch", epoch) != epoch:
            self.source.set_epoch(epoch)
        conversation = self.source[index]
        messages = conversation.messages
        has_image = any(IMAGE_TOKEN in m.content for m in messages)
        if has_image != (conversation.image is not None):
            raise InvalidInputError(
                f"item {index} ({conversation.task}): {IMAGE_TOKEN} in the messages and an "
                "image file must come together"
            )
        cfg = self.config
        ids, labels = encode_conversation(
            self.tokenizer, messages, cfg.image_seq_length, pose_seq_length=cfg.pose_seq_length
        )
        markers = int((labels == self.pose_id).sum())
        if markers != len(conversation.poses):
            raise InvalidInputError(
                f"item {index} ({conversation.task}): {markers} {POSE_TOKEN} in the answers but "
                f"{len(conversation.poses)} poses"
            )
        cut = self._cut(ids)
        ids, labels = ids[:cut], labels[:cut]
        if has_image and int((ids == self.image_id).sum()) != cfg.image_seq_length:
            raise InvalidInputError(
                f"item {index} ({conversation.task}): max_seq_len {self.max_len} cuts its image"
            )
        kept = int((labels == self.pose_id).sum())
        sample = {"input_ids": ids, "labels": labels}
        poses = [torch.as_tensor(p, dtype=torch.float32) for p in conversation.poses[:kept]]
        if poses:
            sample["poses"] = torch.stack(poses)
        if self.pose_input_id is not None:
            reads = int((ids == self.pose_input_id).sum()) // max(cfg.pose_seq_length, 1)
            if len(conversation.input_poses) < reads:
                raise InvalidInputError(
                    f"item {index} ({conversation.task}): more {POSE_INPUT_TOKEN} than input poses"
                )
            if reads:
                inputs = conversation.input_poses[:reads]
                sample["input_poses"] = torch.stack([torch.as_tensor(p).float() for p in inputs])
        if has_image and self.tower is not None:  # stored detections (pose_tower/cache.py)
            crop_box = conversation.meta.get("crop_box")
            load = functools.partial(self.source.load_image, conversation)
            sample["pixel_values"] = self.tower(conversation.image, crop_box, load)
        elif has_image:
            image = self.source.load_image(conversation)
            sample["pixel_values"] = preprocess_image(
                image, cfg.image_size, cfg.image_mean, cfg.image_std, self.image_processor
            )
        return sample


class RankBatches:
    """Batch sampler of keys: this process's share of the endless mixed batch sequence.

    `start` is the number of batches (of all processes) already consumed.
    """

    def __init__(self, sampler: MixtureSampler, start: int = 0, rank: int = 0, world: int = 1):
        self.sampler, self.start, self.rank, self.world = sampler, start, rank, world

    def __iter__(self) -> Iterator[list[Key]]:
        position = self.start
        while True:
            epoch, skip = divmod(position, len(self.sampler))
            self.sampler.set_epoch(epoch)
            for i, batch in enumerate(self.sampler):
                if i < skip:
                    continue
                if position % self.world == self.rank:
                    yield [(epoch, index) for index in batch]
                position += 1


def evaluation_keys(source: ConversationSource, count: int, rank: int, world: int) -> list[Key]:
    """This process's share of `count` items spread evenly over the source (epoch 0)."""
    if len(source) == 0:
        return []
    count = min(count, len(source))
    indices = np.linspace(0, len(source) - 1, count).round().astype(int)
    return [(0, int(i)) for i in indices[rank::world]]


def evaluation_batches(
    source: ConversationSource, count: int, batch_size: int, rank: int = 0, world: int = 1
) -> list[list[Key]]:
    """`evaluation_keys` in batches of at most `batch_size`."""
    keys = evaluation_keys(source, count, rank, world)
    return [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]


def make_loader(
    dataset: EncodedDataset,
    batches: Iterable[list[Key]],
    collate_fn: functools.partial,
    num_workers: int,
    seed: int,
) -> DataLoader:
    """A DataLoader over `batches` (a batch sampler or a list of key lists). It has its own
    random generator, so that loading never draws from (and shifts) the global RNG."""
    return DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate_fn,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
    )
