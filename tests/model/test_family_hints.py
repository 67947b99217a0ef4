"""Family hints: the pose families a user's words mean, added to those words."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from posegpt.errors import InvalidInputError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.build import grow
from posegpt.model.family_hints import TOP_K, family_texts
from posegpt.synth.pose_families import FAMILY_INFO

NAMES = list(FAMILY_INFO)
MESSAGES = [{"role": "user", "content": "Sho me sombody doing a pushup, then lie on your back."}]


@pytest.fixture(scope="module")
def hinted(tokenizer):
    """A tiny text-feature model with clause features, and the same grown by family hints."""
    torch.manual_seed(0)
    config = get_config("tiny", text_encoder="minilm", clause_features=True)
    base = build_model(config, tokenizer).eval()
    return base, grow(base, dataclasses.replace(config, family_hints=True)).eval()


def _logits(model, messages=MESSAGES) -> torch.Tensor:
    ids, _ = model.encode(messages, add_generation_prompt=True)
    with torch.no_grad():
        return model.llava(**model._inputs(ids[None])).logits


def test_every_family_phrase_is_its_own_nearest_family(hinted):
    features = hinted[1].text_features
    index, weights = features.family_hints.nearest(
        features.embedder.embed(family_texts()), features.embedder
    )
    assert index.shape == weights.shape == (len(NAMES), TOP_K)
    assert torch.allclose(weights.sum(1), torch.ones(len(NAMES)))
    assert (index[:, 0] == torch.arange(len(NAMES))).float().mean() > 0.95


def test_everyday_words_find_their_family(hinted):
    features = hinted[1].text_features
    texts = ["Get down flat on your belly.", "gimme a squat real quick", "Show me the tree pose."]
    index, _ = features.family_hints.nearest(features.embedder.embed(texts), features.embedder)
    found = [[NAMES[i] for i in row] for row in index.tolist()]
    assert "sleeping_on_stomach" in found[0]
    assert "squatting" in found[1]
    assert "yoga_tree" in found[2]


def test_a_grown_model_answers_as_before_until_its_gate_opens(hinted):
    base, grown = hinted
    assert torch.equal(_logits(base), _logits(grown))
    with torch.no_grad():
        grown.text_features.family_hints.gate.fill_(1.0)
    try:
        assert not torch.allclose(_logits(base), _logits(grown))
    finally:
        with torch.no_grad():
            grown.text_features.family_hints.gate.zero_()


def test_the_gate_learns_and_is_saved_but_the_family_tables_are_not(hinted, tmp_path):
    grown = hinted[1]
    ids, _ = grown.encode(MESSAGES, add_generation_prompt=True)
    loss = grown.llava(**grown._inputs(ids[None])).logits.square().mean()
    loss.backward()
    gate = grown.text_features.family_hints.gate
    assert gate.grad is not None and gate.grad.abs() > 0
    grown.zero_grad()
    with torch.no_grad():
        gate.fill_(0.5)
    try:
        state = grown.state_dict()
        assert "text_features.family_hints.gate" in state
        assert not any("phrase" in name for name in state)
        save_pretrained(grown, tmp_path / "m")
        loaded = load_pretrained(tmp_path / "m").eval()
        assert loaded.config.family_hints
        assert torch.allclose(_logits(loaded), _logits(grown), atol=1e-5)
    finally:
        with torch.no_grad():
            gate.zero_()


def test_hints_need_a_text_encoder():
    with pytest.raises(InvalidInputError, match="family_hints need a text_encoder"):
        get_config("tiny", family_hints=True)
