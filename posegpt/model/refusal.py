"""How much a reply leans to refusing, read from the probability of its first token.

In training, a request about someone who is not in the picture is answered by a refusal in words
(`posegpt.data.templates.ABSENT_ANSWERS`), each starting with one of `REFUSAL_STARTS`. The
probability the model gives those first words is its own belief that nobody there matches, also
when greedy decoding goes on to give a pose: on the val split it tells such requests from those
about someone who is there with ROC AUC 0.92, and a classifier on the whole first-token
distribution does no better (BENCHMARKS.md, "Declining someone who is not in the picture").
`PoseGPT.chat(decline_unmatched=True)` declines an answer about a picture when it leans to
refusing (`leans_to_refusal`) and its pose matches nobody there
(`posegpt.model.pose_tower.fit.matches_nobody`). A request that describes nobody in particular
("Would you mind reproducing the pose of the person in this photo?", `describes_nobody`) about a
picture of one person means that person, whatever the lean: chat never declines it so.
"""

from __future__ import annotations

import re

import torch
from transformers import PreTrainedTokenizerBase

from posegpt.records import IMAGE_TOKEN

#: The words a refusal about someone not in the picture starts with.
REFUSAL_STARTS = ("I", "Nobody", "There")
#: The first-token share of REFUSAL_STARTS above which a reply leans to refusing. Chosen on the
#: val split with the bone-energy bound (`UNMATCHED_ENERGY`), both with the default model: the
#: most requests about someone absent declined (21 -> 47%) with requests about someone there
#: wrongly declined at most 3 points more often (1.8 -> 4.8%) and person crops no more often.
REFUSAL_SHARE = 0.25


def refusal_start_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The first token of each of REFUSAL_STARTS as a reply starts with it (none for a word
    the tokenizer cannot write: a reply without those words never leans to refusing)."""
    encoded = (tokenizer.encode(word, add_special_tokens=False) for word in REFUSAL_STARTS)
    return sorted({ids[0] for ids in encoded if ids})


def refusal_share(scores: torch.Tensor, start_ids: list[int]) -> float:
    """The probability that a reply whose first step scores the vocabulary `scores` (V,)
    starts a refusal: the softmax mass of `start_ids`."""
    return float(torch.softmax(scores.float(), -1)[start_ids].sum())


def leans_to_refusal(scores: torch.Tensor, start_ids: list[int]) -> bool:
    """Whether that probability is above REFUSAL_SHARE."""
    return refusal_share(scores, start_ids) > REFUSAL_SHARE


#: Words that describe nobody: function words, and words that ask for a pose or name a picture,
#: a person or a body part (every word of the training data's image -> pose questions among
#: them). Every description of someone in the data holds other words ("the man who is serving
#: in tennis"; "who" is one).
_NON_DESCRIBING = """
    a an the this that these those his her their its my your our s i me you he she they him
    them it we us is are was be am do does did doing can could would will should may might please
    pls plz hi hello hey thanks mind of in on at to for from as and or so here there what whats
    how which just exactly same like into with
    give show get make copy match replicate recreate reproduce reproducing mimic estimate extract
    predict output read rebuild turn put tell need want love work out figure analyse analyze
    describe find holding posed going shown answer reconstruct recover parameters d
    pose poses posture position positioned stance 3d smpl model mesh skeleton avatar version form
    photo photograph picture pic image shot snap screenshot one
    person people man woman guy kid child boy girl lady individual athlete dancer player someone
    somebody human body arms arm legs leg limbs hands hand feet foot head"""
NON_DESCRIBING = frozenset(_NON_DESCRIBING.split())
_WORDS = re.compile(r"[a-z0-9]+")


def describes_nobody(message: str) -> bool:
    """Whether `message` names nobody in particular: all its words are NON_DESCRIBING."""
    return all(
        w in NON_DESCRIBING for w in _WORDS.findall(message.replace(IMAGE_TOKEN, "").lower())
    )
