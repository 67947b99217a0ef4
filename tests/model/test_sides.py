"""Keeping the side a request names (posegpt.model.sides, `PoseGPT.chat(keep_sides=True)`)."""

from __future__ import annotations

import torch

from posegpt.model import build_model
from posegpt.model.sides import named_sides, opposite_side_ids


def test_the_other_side_is_suppressed_only_when_one_side_is_named(tokenizer):
    assert named_sides("Kneel on your Right knee.") == {"right"}
    assert named_sides("Stand upright; leftover words.") == set()
    (left,) = tokenizer.encode(" left", add_special_tokens=False)
    (right,) = tokenizer.encode(" right", add_special_tokens=False)
    assert opposite_side_ids(tokenizer, "Wave your right hand.") == [left]
    assert opposite_side_ids(tokenizer, "lean LEFT") == [right]
    assert opposite_side_ids(tokenizer, "left arm up, right arm down") == []
    assert opposite_side_ids(tokenizer, "Sit down.") == []


def test_chat_keeps_the_named_side(tokenizer):
    """A model made to say " left" first says it unless the request names only the right."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer).eval()
    (left,) = tokenizer.encode(" left", add_special_tokens=False)
    asked = [{"role": "user", "content": "Wave your right hand."}]
    bump = torch.zeros(len(tokenizer))
    bump[left] = 100.0  # " left" is always the likeliest next token
    model.llava.lm_head.register_forward_hook(lambda module, inputs, logits: logits + bump)
    assert model.chat(asked, max_new_tokens=8).text.startswith(" left")
    kept = model.chat(asked, max_new_tokens=8, keep_sides=True).text
    assert " left" not in kept
    both = [{"role": "user", "content": "Left arm up, right arm down."}]
    assert model.chat(both, max_new_tokens=8, keep_sides=True).text.startswith(" left")
