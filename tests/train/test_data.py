from __future__ import annotations

import itertools

import pytest
import torch
from PIL import Image

from posegpt.data.dataset import PoseDataset
from posegpt.data.sampler import MixtureSampler
from posegpt.errors import InvalidInputError
from posegpt.model import PRESETS, PoseGPTConfig, collate, train_tokenizer
from posegpt.model.pose_tower.cache import build_cache
from posegpt.records import Conversation, Message
from posegpt.train.data import (
    ConversationList,
    EncodedDataset,
    RankBatches,
    corpus,
    evaluation_batches,
    evaluation_keys,
)

SIZES = {"text2pose": 5, "image2pose": 7, "instruction": 3}


def take(batches: RankBatches, n: int) -> list:
    return list(itertools.islice(iter(batches), n))


def test_resumed_order_continues_the_sequence():
    sampler = MixtureSampler(SIZES, batch_size=4, seed=1)
    assert len(sampler) == 4  # so 10 batches cross two epoch boundaries
    whole = take(RankBatches(sampler), 10)
    assert take(RankBatches(sampler, start=6), 4) == whole[6:]
    assert {epoch for batch in whole for epoch, _ in batch} == {0, 1, 2}


def test_ranks_share_the_sequence():
    sampler = MixtureSampler(SIZES, batch_size=4, seed=1)
    whole = take(RankBatches(sampler), 6)
    ranks = [take(RankBatches(sampler, start=2, rank=r, world=2), 2) for r in range(2)]
    assert ranks[0] == [whole[2], whole[4]] and ranks[1] == [whole[3], whole[5]]


def test_evaluation_keys_split_the_items():
    data = ConversationList([_chat(f"question {i}?", "Yes.") for i in range(10)])
    keys = evaluation_keys(data, 5, rank=0, world=1)
    shards = [evaluation_keys(data, 5, rank=r, world=2) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(keys) and len(set(keys)) == 5


def test_conversation_list_orders_by_task():
    items = [_chat("a?", "b.", "instruction"), _chat("c?", "d.", "speculative")]
    data = ConversationList(items)
    assert data[data.offsets["speculative"]].task == "speculative"
    assert data.sizes["instruction"] == 1
    with pytest.raises(InvalidInputError, match="unknown tasks"):
        ConversationList([_chat("a?", "b.", "dancing")])


def test_encoding_cuts_long_conversations_and_their_poses(make_poses):
    poses = list(make_poses(2, seed=0))
    item = _chat("Two poses?", "First <POSE>, then" + " more words" * 6 + " <POSE>.")
    item.poses = poses
    data = ConversationList([item])
    tokenizer = train_tokenizer(corpus(data), vocab_size=300)
    full = EncodedDataset(data, tokenizer, PRESETS["tiny"], max_len=256)[(0, 0)]
    assert torch.equal(full["poses"], torch.stack(poses))
    cut = EncodedDataset(data, tokenizer, PRESETS["tiny"], max_len=len(full["input_ids"]) - 4)
    assert torch.equal(cut[(0, 0)]["poses"], poses[0][None])


def test_encoding_reads_input_poses_and_never_cuts_one(make_poses):
    inputs = list(make_poses(2, seed=1))
    item = Conversation(
        [
            Message("user", "<pose_in>\nBend the left knee."),
            Message("assistant", "<POSE>"),
            Message("user", "<pose_in>\nAnd the other one" + " too" * 8),
            Message("assistant", "<POSE>"),
        ],
        poses=list(make_poses(2, seed=2)),
        task="pose_input",
        input_poses=inputs,
    )
    data = ConversationList([item])
    tokenizer = train_tokenizer(corpus(data), vocab_size=300)
    config = PRESETS["tiny"]
    full = EncodedDataset(data, tokenizer, config, max_len=256)[(0, 0)]
    assert torch.equal(full["input_poses"], torch.stack(inputs))
    pose_in = tokenizer.convert_tokens_to_ids("<pose_in>")
    second = (full["input_ids"] == pose_in).nonzero()[-1, 0]  # its last placeholder
    cut = EncodedDataset(data, tokenizer, config, max_len=int(second))[(0, 0)]  # splits it
    assert int((cut["input_ids"] == pose_in).sum()) == config.pose_seq_length
    assert torch.equal(cut["input_poses"], inputs[0][None]) and len(cut["poses"]) == 1
    batch = collate(
        [full, cut],
        pad_id=tokenizer.pad_token_id,
        pose_token_id=tokenizer.convert_tokens_to_ids("<POSE>"),
    )
    assert len(batch["input_poses"]) == 3


def test_encoding_checks_images_and_poses(data):
    tokenizer = train_tokenizer(corpus(data), vocab_size=300)
    encoded = EncodedDataset(data, tokenizer, PRESETS["tiny"], max_len=256)
    sample = encoded[(0, data.offsets["image2pose"])]
    assert sample["pixel_values"].shape == (3, 32, 32)
    data.items[0].poses = []
    with pytest.raises(InvalidInputError, match="poses"):
        encoded[(0, 0)]
    data.items[0].image = "0.png"
    with pytest.raises(InvalidInputError, match="image"):
        encoded[(0, 0)]


def test_reads_a_dataset_folder(dataset_dir):
    data = PoseDataset(dataset_dir, "train")
    texts = list(corpus(data))
    assert len(texts) == 2 * len(data) and any("<image>" in t for t in texts)


def _chat(question: str, answer: str, task: str = "instruction") -> Conversation:
    return Conversation([Message("user", question), Message("assistant", answer)], task=task)


def test_evaluation_batches_are_the_keys_in_order(data):
    batches = evaluation_batches(data, 5, batch_size=2)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert sum(batches, []) == evaluation_keys(data, 5, rank=0, world=1)


def test_training_reads_the_detections_the_dataset_stores(tmp_path, data):
    """A model that reads BlazePose heavy at run time (as the default) trains on the lite
    detections a dataset stores, instead of refusing them or running heavy per step."""
    root = tmp_path / "stored"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (64, 64), (90, 90, 90)).save(root / "images" / "empty.png")
    build_cache(root, "lite", progress=False)
    config = PoseGPTConfig(pose_tower="blazepose", tower_bundle="heavy")
    tokenizer = train_tokenizer(corpus(data), vocab_size=300)
    encoded = EncodedDataset(ConversationList(data.items, root), tokenizer, config, 256)
    never = lambda: pytest.fail("the detector ran")  # noqa: E731
    assert encoded.tower.bundle == "lite"
    assert not encoded.tower("images/empty.png", None, never).any()
