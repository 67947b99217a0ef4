"""Request hints: the pose of the nearest training request, read by each user turn."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from posegpt.body.rotations import axis_angle_to_rotmat, rotmat_to_6d
from posegpt.errors import InvalidInputError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.build import grow
from posegpt.model.request_hints import RequestHints, fill_request_hints, one_pose_requests
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.records import Conversation, Message

REQUESTS = ["Lie on your back.", "Raise both arms.", "Sit on a chair.", "Kneel on one knee."]


def _request(text: str, pose: torch.Tensor) -> Conversation:
    return Conversation([Message("user", text), Message("assistant", "Here: <POSE>.")], [pose])


@pytest.fixture(scope="module")
def requests() -> list[Conversation]:
    poses = axis_angle_to_rotmat(torch.randn(4, 24, 3, generator=torch.Generator().manual_seed(3)))
    return [_request(t, p) for t, p in zip(REQUESTS, poses, strict=True)]


@pytest.fixture(scope="module")
def hint_model(tokenizer, requests):
    """A tiny text-feature model grown by a 4-row hint table holding `requests`."""
    torch.manual_seed(0)
    base = build_model(get_config("tiny", text_encoder="minilm"), tokenizer).eval()
    grown = grow(base, dataclasses.replace(base.config, request_hints=4)).eval()
    features = grown.text_features
    assert not features.hints.filled
    assert fill_request_hints(features.hints, features.embedder, requests) == 4
    return base, grown


def test_only_one_turn_words_only_one_pose_requests_are_kept(requests):
    pose = requests[0].poses[0]
    two_poses = Conversation(
        [Message("user", "Sit, then stand."), Message("assistant", "<POSE> <POSE>")], [pose, pose]
    )
    follow_up = Conversation([*requests[0].messages, *requests[1].messages], [pose, pose])
    with_image = _request("<image>\nThis one?", pose)
    with_image.image = "a.png"
    chat = Conversation([Message("user", "Hello"), Message("assistant", "Hi!")])
    texts, poses = one_pose_requests([two_poses, follow_up, with_image, chat, *requests])
    assert texts == REQUESTS
    assert all(torch.equal(a, b.poses[0]) for a, b in zip(poses, requests, strict=True))


def test_nearest_row_is_the_request_itself_except_in_training(requests):
    embedder = SentenceEmbedder()
    hints = RequestHints(4, embedder.dim, 8)
    fill_request_hints(hints, embedder, requests)
    keys = embedder.embed(REQUESTS)
    hints.eval()
    index, similarity = hints.nearest(keys)
    assert index.tolist() == [0, 1, 2, 3]
    assert torch.allclose(similarity, torch.ones(4), atol=1e-3)
    hints.train()
    index, similarity = hints.nearest(keys)
    assert (index != torch.arange(4)).all() and (similarity < 0.999).all()
    expected = rotmat_to_6d(requests[2].poses[0]).flatten()
    torch.testing.assert_close(hints.poses[2].float(), expected, atol=2e-3, rtol=0)


def test_fewer_requests_than_rows_repeat_and_more_are_drawn(requests):
    embedder = SentenceEmbedder()
    big, small = RequestHints(6, embedder.dim, 8), RequestHints(2, embedder.dim, 8)
    assert fill_request_hints(big, embedder, requests) == 4
    assert torch.equal(big.keys[4:], big.keys[:2])
    assert fill_request_hints(small, embedder, requests, seed=1) == 2
    kept = {REQUESTS[i] for i in (embedder.embed(REQUESTS) @ small.keys.float().T).argmax(0)}
    assert len(kept) == 2
    with pytest.raises(InvalidInputError, match="one-pose requests"):
        fill_request_hints(small, embedder, [Conversation([Message("user", "Hi")])])


def test_grown_model_starts_as_its_origin_then_reads_the_hint(hint_model, make_batch):
    base, grown = hint_model
    batch = make_batch(base)
    messages = [{"role": "user", "content": "Please lie down on your back."}]
    assert torch.equal(grown(batch).logits, base(batch).logits)
    assert grown.chat(messages).text == base.chat(messages).text

    grown.train()
    grown.zero_grad()
    out = grown(batch)
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    last = grown.text_features.hints.projector[-1]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in last.parameters())
    grown.eval()
    with torch.no_grad():
        last.weight.normal_(0, 0.5)
    try:
        before = grown(batch).logits
        with torch.no_grad():  # another pose at every row: another answer
            grown.text_features.hints.poses.copy_(grown.text_features.hints.poses.flip(0))
        assert not torch.allclose(grown(batch).logits, before)
    finally:
        with torch.no_grad():
            grown.text_features.hints.poses.copy_(grown.text_features.hints.poses.flip(0))
            last.weight.zero_()


def test_table_is_saved_with_the_weights(hint_model, make_batch, tmp_path):
    _, grown = hint_model
    save_pretrained(grown, tmp_path / "m")
    loaded = load_pretrained(tmp_path / "m")
    assert loaded.config.request_hints == 4 and loaded.text_features.hints.filled
    for name in ("keys", "poses"):
        hints = grown.text_features.hints
        assert torch.equal(getattr(loaded.text_features.hints, name), getattr(hints, name))


def test_request_hints_need_a_text_encoder_and_a_sane_size():
    with pytest.raises(InvalidInputError, match="text_encoder"):
        get_config("tiny", request_hints=8)
    with pytest.raises(InvalidInputError, match="request_hints"):
        get_config("tiny", text_encoder="minilm", request_hints=-1)
