"""Body shapes of synthetic people: anny phenotypes sampled by category, with the words for them.

Each person is drawn as categories first (gender, age group, height, build) and then phenotype
values well inside each category's range, so the words a description uses ("the tall,
heavy-set man", "the girl") are true of the body. anny's phenotypes (`PHENOTYPES` order):
gender 0 = male, 1 = female; age 0 = baby, 1/3 = child, 2/3 = young adult, 1 = old; height,
weight and muscle 0 = least, 1 = most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegpt.body.anny_body import PHENOTYPES

#: Probability and phenotype range of each category (ranges measured on the anny mesh: at
#: average height an adult man is 1.78 m, a woman 1.64 m; short ~0.13 m below, tall above).
AGE_GROUPS = {
    "child": (0.15, (0.3, 0.42)),
    "adult": (0.7, (0.64, 0.85)),
    "elderly": (0.15, (0.95, 1.0)),
}
HEIGHTS = {"short": (0.25, (0.17, 0.25)), None: (0.5, (0.33, 0.41)), "tall": (0.25, (0.49, 0.57))}
#: Build: probability, weight range, muscle range (heavy needs low muscle to show).
BUILDS = {
    "slim": (0.22, (0.0, 0.12), (0.3, 0.6)),
    None: (0.45, (0.38, 0.62), (0.3, 0.6)),
    "heavy-set": (0.2, (0.85, 1.0), (0.0, 0.25)),
    "muscular": (0.13, (0.6, 0.85), (0.9, 1.0)),
}
GENDERS = {"male": (0.0, 0.08), "female": (0.92, 1.0)}
PROPORTIONS = (0.3, 0.7)
_NOUNS = {
    ("male", False): "man",
    ("female", False): "woman",
    ("male", True): "boy",
    ("female", True): "girl",
}


@dataclass(frozen=True)
class Physique:
    """A body shape and its words. `betas`: (6,) phenotypes in `PHENOTYPES` order."""

    betas: np.ndarray
    gender: str  # "male" | "female"
    age_group: str  # "child" | "adult" | "elderly"
    height: str | None  # "tall" | "short" | None (average, or a child)
    build: str | None  # "slim" | "heavy-set" | "muscular" | None (average)

    @property
    def noun(self) -> str:
        """The noun for this person: "man", "woman", "boy" or "girl"."""
        return _NOUNS[self.gender, self.age_group == "child"]


def _pick(rng: np.random.Generator, table: dict) -> tuple[object, ...]:
    """A category of `table` (key -> (probability, *ranges)) and a value in each range."""
    keys = list(table)
    key = keys[rng.choice(len(keys), p=[table[k][0] for k in keys])]
    return key, *(float(rng.uniform(low, high)) for low, high in table[key][1:])


def sample_physique(rng: np.random.Generator) -> Physique:
    """A random body shape: 15% children, 70% adults, 15% elderly; half of each gender."""
    gender = "male" if rng.random() < 0.5 else "female"
    age_group, age = _pick(rng, AGE_GROUPS)
    height, height_value = _pick(rng, HEIGHTS)
    build, weight, muscle = _pick(rng, BUILDS)
    if age_group == "child":  # children: average height and build, no height/build words
        height, height_value = None, float(rng.uniform(*HEIGHTS[None][1]))
        build, weight, muscle = None, *(float(rng.uniform(*r)) for r in BUILDS[None][1:])
    values = {
        "gender": rng.uniform(*GENDERS[gender]),
        "age": age,
        "muscle": muscle,
        "weight": weight,
        "height": height_value,
        "proportions": rng.uniform(*PROPORTIONS),
    }
    betas = np.array([values[k] for k in PHENOTYPES], dtype=np.float32)
    return Physique(betas, gender, age_group, height, build)
