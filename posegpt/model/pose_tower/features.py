"""Detected people -> the pose tower's input: one normalised feature row per person slot.

Per person (FEATURE_DIM values): the 33 image landmarks relative to the person's box (centred,
divided by the box's longer side) with their visibility, the 33 world landmarks (metres,
hip-centred, camera axes), the box's centre and size as fractions of the picture (the place in
the picture), and a 1 marking the slot as used; with the picture given, then the colours it
shows at the person's top, legs, shoes and hair (`appearance.person_colours`, COLOUR_DIM values).
Up to `slots` people, largest first (in a crop the person asked about; in a scene, where each
stands is in their box features); empty slots are all zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posegpt.model.pose_tower.appearance import COLOUR_DIM, person_colours
from posegpt.model.pose_tower.detector import NUM_LANDMARKS, Person, box_area

FEATURE_DIM = NUM_LANDMARKS * 3 * 2 + 4 + 1
#: Where each part of a feature row starts (slices into FEATURE_DIM).
IMAGE_PART = slice(0, NUM_LANDMARKS * 3)
WORLD_PART = slice(NUM_LANDMARKS * 3, NUM_LANDMARKS * 6)
BOX_PART = slice(NUM_LANDMARKS * 6, NUM_LANDMARKS * 6 + 4)
USED = FEATURE_DIM - 1
#: The colours after them, in features read with the picture.
COLOUR_PART = slice(FEATURE_DIM, FEATURE_DIM + COLOUR_DIM)


def feature_dim(colours: bool) -> int:
    """Values per person slot: FEATURE_DIM, plus COLOUR_DIM with the colours."""
    return FEATURE_DIM + COLOUR_DIM if colours else FEATURE_DIM


def person_row(person: Person) -> np.ndarray:
    """(FEATURE_DIM,) features of one person (see the module docstring)."""
    x0, y0, x1, y1 = (float(v) for v in person.box)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2], np.float32)
    side = max(x1 - x0, y1 - y0, 1e-3)
    marks = person.landmarks.astype(np.float32).copy()
    marks[:, :2] = (marks[:, :2] - centre) / side
    box = np.array([centre[0], centre[1], x1 - x0, y1 - y0], np.float32)
    world = person.world.astype(np.float32).reshape(-1)
    return np.concatenate([marks.reshape(-1), world, box, [1.0]]).astype(np.float32)


def row_person(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image landmarks (33, 3) and box (4,), in picture fractions, of a `person_row` row."""
    cx, cy, width, height = (float(v) for v in row[BOX_PART])
    side = max(width, height, 1e-3)
    marks = row[IMAGE_PART].reshape(NUM_LANDMARKS, 3).astype(np.float32)
    marks[:, :2] = marks[:, :2] * side + np.array([cx, cy], np.float32)
    box = np.array([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2], np.float32)
    return marks, box


def chosen(people: Sequence[Person], slots: int) -> list[Person]:
    """The `slots` largest people, largest first (in a crop, the person asked about)."""
    return sorted(people, key=lambda p: -box_area(p.box))[:slots]


def tower_features(
    people: Sequence[Person], slots: int, picture: np.ndarray | None = None
) -> torch.Tensor:
    """(slots, FEATURE_DIM) float32 features of the people in one picture; given the picture
    ((H, W, 3) uint8), (slots, FEATURE_DIM + COLOUR_DIM) with their colours."""
    out = np.zeros((slots, feature_dim(picture is not None)), np.float32)
    for i, person in enumerate(chosen(people, slots)):
        out[i, :FEATURE_DIM] = person_row(person)
        if picture is not None:
            out[i, COLOUR_PART] = person_colours(picture, person.landmarks, person.box)
    return torch.from_numpy(out)


#: The reply to a picture in which the tower finds nobody (no pose is made up).
NOBODY_REPLY = "I can't see anyone in this picture, so I have no pose to give."
#: The reply when an answer leans to refusing and its every pose is far from everyone in the
#: picture (`PoseGPT.chat`'s `decline_unmatched`).
UNMATCHED_REPLY = "Nobody in this picture matches that description, so I can't give a pose."
#: Body parts named when they are out of the picture: part -> BlazePose landmarks.
PARTS: dict[str, tuple[int, ...]] = {
    "head": (0, 2, 5, 7, 8),
    "left arm": (13, 15, 17, 19),
    "right arm": (14, 16, 18, 20),
    "left leg": (25, 27, 29, 31),
    "right leg": (26, 28, 30, 32),
}


def people_count(features: torch.Tensor) -> int:
    """How many people (slots, FEATURE_DIM) features hold."""
    return int((features[:, USED] > 0).sum())


def nobody(features: torch.Tensor) -> bool:
    """Whether (slots, FEATURE_DIM) features hold no person."""
    return people_count(features) == 0


def guessed_parts(features: torch.Tensor) -> list[str]:
    """The parts of the largest person of (slots, FEATURE_DIM) features that are out of the
    picture: under half of their landmarks in it. Not BlazePose's visibility, which is also low for
    limbs the body itself hides (and that it still places): with it (visibility under 0.5 as
    unseen) parts were named for 53% of whole synthetic val crops and 7 of the 10 real photos of
    `benchmarks/bench_real_photos.py`; out of the picture, for 5% and the two photos that cut
    the legs off, and for 78% of the val crops framed from the waist or thighs up."""
    used = features[features[:, USED] > 0]
    if not len(used):
        return []
    largest = used[int((used[:, BOX_PART][:, 2] * used[:, BOX_PART][:, 3]).argmax())]
    marks = largest[IMAGE_PART].view(NUM_LANDMARKS, 3)
    centre, size = largest[BOX_PART][:2], largest[BOX_PART][2:]
    xy = centre + marks[:, :2] * size.max().clamp(min=1e-3)  # back to picture fractions
    inside = ((xy >= 0) & (xy <= 1)).all(dim=1)
    return [part for part, ids in PARTS.items() if float(inside[list(ids)].float().mean()) < 0.5]


def guessed_note(parts: list[str]) -> str:
    """A sentence naming the guessed parts ("" when none)."""
    if not parts:
        return ""
    names = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    verb = "is" if len(parts) == 1 else "are"
    return f"(The {names} {verb} out of the picture, so guessed.)"
