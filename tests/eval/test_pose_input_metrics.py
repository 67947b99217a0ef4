"""R-precision and the caption metrics of the pose-input benchmarks."""

from __future__ import annotations

import pytest
import torch

from posegpt.errors import InvalidInputError
from posegpt.eval.retrieval import r_precision
from posegpt.eval.text_metrics import caption_metrics, load_wordnet


def test_r_precision_perfect_random_and_ties():
    torch.manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(64, 16), dim=-1)
    perfect = r_precision(text, text.clone())
    assert perfect == {"R@1": 100.0, "R@2": 100.0, "R@3": 100.0}
    chance = r_precision(text, torch.nn.functional.normalize(torch.randn(64, 16), dim=-1))
    assert chance["R@1"] < 20.0 and chance["R@1"] <= chance["R@2"] <= chance["R@3"]
    same = r_precision(torch.ones(8, 4), torch.ones(8, 4))  # all tied: ties count against
    assert same["R@3"] == 0.0
    few = r_precision(text[:4], text[:4].clone(), candidates=32)  # fewer items: all of them
    assert few["R@1"] == 100.0
    with pytest.raises(InvalidInputError):
        r_precision(text[:1], text[:1])


def test_caption_metrics_reward_matching_words():
    refs = [["The left knee is bent.", "Left knee bent."], ["Both arms are above the head."]]
    same = caption_metrics(["The left knee is bent.", "Both arms are above the head."], refs)
    other = caption_metrics(["Someone lies on the floor.", "A person sits."], refs)
    for key in ("bleu4", "rougeL"):
        assert same[key] > 95.0 and other[key] < 30.0
    if load_wordnet() is not None:  # Debian's wordnet-base (README "Install")
        assert same["meteor"] > 90.0 > 40.0 > other["meteor"]
        synonym = caption_metrics(["The left knee bends."], [["The left knee is bent."]])
        assert synonym["meteor"] > 50.0
    with pytest.raises(InvalidInputError):
        caption_metrics(["a"], [[]])
