"""How synthetic people look: named colours, clothing, and the body part of every mesh vertex.

Each vertex gets a body part from its dominant skinning bone (anny's soma rig), split once more
along the upper arm (short sleeves) and thigh (shorts); an outfit then colours the parts. The
colour names are the words the scene descriptions use, so a description never names a colour
that is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import numpy as np
import torch

from posegpt.body.base import BodyModel
from posegpt.body.rotations import identity_pose
from posegpt.body.skeleton import JOINT_INDEX
from posegpt.errors import InvalidInputError

#: Clothing colours by name, RGB floats in [0, 1].
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.10, 0.10),
    "blue": (0.12, 0.30, 0.85),
    "green": (0.15, 0.60, 0.20),
    "yellow": (0.95, 0.85, 0.15),
    "black": (0.08, 0.08, 0.08),
    "white": (0.95, 0.95, 0.95),
    "grey": (0.50, 0.50, 0.50),
    "orange": (0.95, 0.50, 0.05),
    "purple": (0.48, 0.18, 0.65),
    "pink": (0.97, 0.55, 0.72),
    "brown": (0.45, 0.28, 0.12),
}
SHOE_COLORS = ("black", "white", "brown", "grey", "red", "blue")
HAIR_COLORS: dict[str, tuple[float, float, float]] = {
    "black": (0.06, 0.05, 0.05),
    "brown": (0.33, 0.20, 0.10),
    "blonde": (0.86, 0.72, 0.42),
    "grey": (0.68, 0.68, 0.68),
}
SKIN_TONES: tuple[tuple[float, float, float], ...] = (
    (0.96, 0.80, 0.69),
    (0.91, 0.72, 0.58),
    (0.80, 0.60, 0.45),
    (0.65, 0.45, 0.31),
    (0.48, 0.32, 0.21),
    (0.34, 0.22, 0.15),
)
#: Smallest RGB distance between a garment's colour and the skin.
SKIN_CONTRAST = 0.25
#: Garment words: top by sleeve length, bottom by leg length.
TOPS = {"short": "t-shirt", "long": "long-sleeved shirt"}
BOTTOMS = {"shorts": "shorts", "trousers": "trousers"}

#: How far along the upper arm (shoulder -> elbow) a short sleeve reaches, and along the thigh
#: (hip -> knee) shorts reach.
SLEEVE_END, SHORTS_END = 0.55, 0.7


class Part(IntEnum):
    """Body parts that clothing distinguishes."""

    HEAD = 0
    HAIR = 1
    NECK = 2
    TORSO = 3
    UPPER_ARM = 4  # shoulder to the end of a short sleeve
    LOWER_ARM = 5  # the rest of the arm, to the wrist
    HAND = 6
    PELVIS = 7
    THIGH = 8  # hip to the end of shorts
    LOWER_LEG = 9  # the rest of the leg, to the ankle
    FOOT = 10


_BONE_PARTS = {  # soma bone name (without Left/Right) -> part; limbs are split afterwards
    "Root": Part.PELVIS,
    "Hips": Part.PELVIS,
    "Spine1": Part.TORSO,
    "Spine2": Part.TORSO,
    "Chest": Part.TORSO,
    "Shoulder": Part.TORSO,
    "Neck1": Part.NECK,
    "Neck2": Part.NECK,
    "Arm": Part.UPPER_ARM,
    "ForeArm": Part.LOWER_ARM,
    "Leg": Part.THIGH,
    "Shin": Part.LOWER_LEG,
    "Foot": Part.FOOT,
    "ToeBase": Part.FOOT,
    "ToeEnd": Part.FOOT,
}


def _bone_part(label: str) -> Part:
    name = label.removeprefix("Left").removeprefix("Right")
    if name.startswith("Hand"):
        return Part.HAND
    return _BONE_PARTS.get(name, Part.HEAD)  # Head, Jaw, eyes: the head


@lru_cache(maxsize=2)
def body_part_labels(body: BodyModel) -> np.ndarray:
    """(V,) uint8 `Part` of each vertex of `body` (an AnnyBody), computed once per body."""
    anny = getattr(body, "anny", None)
    if anny is None:
        raise InvalidInputError(
            f"clothing needs the anny body model's skinning weights; got the {body.name!r} body"
        )
    weights, bones = anny.vertex_bone_weights, anny.vertex_bone_indices
    dominant = bones.gather(1, weights.argmax(1, keepdim=True))[:, 0].cpu().numpy()
    parts = np.array([_bone_part(b) for b in anny.bone_labels], dtype=np.uint8)[dominant]
    with torch.no_grad():
        rest = body(identity_pose(1))
    vertices, joints = rest.vertices[0].cpu().numpy(), rest.joints[0].cpu().numpy()
    for side in ("left", "right"):
        for part, start, end, reach in (
            (Part.UPPER_ARM, "shoulder", "elbow", SLEEVE_END),
            (Part.THIGH, "hip", "knee", SHORTS_END),
        ):
            a, b = joints[JOINT_INDEX[f"{side}_{start}"]], joints[JOINT_INDEX[f"{side}_{end}"]]
            on_side = np.sign(vertices[:, 0]) == np.sign(a[0])
            along = (vertices - a) @ (b - a) / float((b - a) @ (b - a))
            parts[(parts == part) & on_side & (along > reach)] = part + 1
    parts[_hair_mask(vertices, parts)] = Part.HAIR
    return parts


def _hair_mask(vertices: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Scalp vertices: the top of the head and the back of it down to the ears (rest pose)."""
    head = parts == Part.HEAD
    low, high = vertices[head].min(0), vertices[head].max(0)
    up = (vertices[:, 1] - low[1]) / (high[1] - low[1])  # 0 chin .. 1 crown
    front = (vertices[:, 2] - low[2]) / (high[2] - low[2])  # 0 back .. 1 nose tip
    return head & ((up > 0.8) | ((up > 0.72) & (front < 0.75)) | ((up > 0.3) & (front < 0.4)))


@dataclass(frozen=True)
class Outfit:
    """Clothing and colouring of one person. Colours are names: `PALETTE`, `HAIR_COLORS` keys."""

    top: str
    sleeves: str  # "short" | "long" (a key of TOPS)
    bottom: str
    legs: str  # "shorts" | "trousers" (a key of BOTTOMS)
    shoes: str
    skin: tuple[float, float, float]
    hair: str | None  # None: bald

    @property
    def top_garment(self) -> str:
        return TOPS[self.sleeves]

    @property
    def bottom_garment(self) -> str:
        return BOTTOMS[self.legs]

    def part_colors(self) -> np.ndarray:
        """(len(Part), 3) float32 colour of each body part."""
        skin, top, bottom = self.skin, PALETTE[self.top], PALETTE[self.bottom]
        colors = {
            Part.HEAD: skin,
            Part.HAIR: HAIR_COLORS[self.hair] if self.hair else skin,
            Part.NECK: skin,
            Part.TORSO: top,
            Part.UPPER_ARM: top,
            Part.LOWER_ARM: top if self.sleeves == "long" else skin,
            Part.HAND: skin,
            Part.PELVIS: bottom,
            Part.THIGH: bottom,
            Part.LOWER_LEG: bottom if self.legs == "trousers" else skin,
            Part.FOOT: PALETTE[self.shoes],
        }
        return np.array([colors[p] for p in Part], dtype=np.float32)

    def vertex_colors(self, parts: np.ndarray) -> np.ndarray:
        """(V, 3) float32 colour of each vertex, given its `Part` labels."""
        return self.part_colors()[parts]


def sample_outfit(
    rng: np.random.Generator, elderly: bool = False, bald_chance: float = 0.0
) -> Outfit:
    """A random outfit; top and bottom differ in colour and from the skin (so clothes never
    pass for bare skin); elderly people have grey hair."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
    names = [n for n in PALETTE if np.linalg.norm(np.subtract(PALETTE[n], skin)) >= SKIN_CONTRAST]
    top = names[rng.integers(len(names))]
    bottoms = [n for n in names if n != top]
    hair = "grey" if elderly else ("black", "brown", "blonde")[rng.integers(3)]
    return Outfit(
        top=top,
        sleeves="short" if rng.random() < 0.5 else "long",
        bottom=bottoms[rng.integers(len(bottoms))],
        legs="shorts" if rng.random() < 0.35 else "trousers",
        shoes=SHOE_COLORS[rng.integers(len(SHOE_COLORS))],
        skin=skin,
        hair=None if rng.random() < bald_chance else hair,
    )
