"""The procedural pose families: parametric templates of plausible human poses.

A family gives, for the joints that matter, three Euler angles in degrees, each a number, a
(lo, hi) range sampled uniformly, or a function of the family's shared `variables` (so that,
e.g., the hips can compensate a tilted pelvis). Angles use the joint's convention in
`posegpt.body.limits.JOINT_LIMITS`, except the shoulder, written as (twist, elevation,
azimuth) in "xzy": elevation -90 hangs the arm down, +90 raises it; azimuth -90 swings it
forward, +90 back; twist > 0 turns the elbow's bend inwards. Sided joints are always written
with LEFT-side signs; "knee" sets both knees, "left_knee"/"right_knee" one of them. "spine"
spreads its angles over the three spine joints. `root` is the pelvis orientation in "yzx".

Family names are stable identifiers (other modules key on them): never rename one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from posegpt.body.skeleton import SIDES
from posegpt.synth.world import load_world_families

Range = tuple[float, float]
Angle = float | Range | Callable[[Mapping[str, float]], float]
Angles = tuple[Angle, Angle, Angle]

PARTS = ("arms", "legs", "torso", "head")


@dataclass(frozen=True)
class Family:
    """A parametric pose template; `side` is the side it is written for (None: symmetric)."""

    name: str
    phrase: str  # a short natural phrase: "kneeling on one knee"
    group: str
    parts: tuple[str, ...]  # the body parts that define the pose
    joints: Mapping[str, Angles]
    root: Angles = (0.0, 0.0, 0.0)
    variables: Mapping[str, Range] = field(default_factory=dict)
    side: str | None = None
    sided_phrase: str | None = None  # with "{side}": "kneeling on the {side} knee"

    def describe(self, side: str | None = None) -> str:
        """The family's phrase, naming `side` when the family has one."""
        if self.sided_phrase and side in SIDES:
            return self.sided_phrase.format(side=side)
        return self.phrase


# Shared pieces (left-side signs).
ARMS_RELAXED: dict[str, Angles] = {
    "shoulder": ((0, 15), (-82, -70), (-15, 0)),
    "elbow": ((-25, -5), 0, 0),
}
ARMS_UP: dict[str, Angles] = {
    "collar": ((10, 20), 0, 0),
    "shoulder": ((-10, 10), (65, 80), (-25, -5)),
    "elbow": ((-25, 0), 0, 0),
}
HAND_ON_HIP: Angles = ((70, 95), (-45, -30), (5, 25))
ELBOW_ON_HIP: Angles = ((-100, -80), 0, 0)
STANCE: dict[str, Angles] = {"hip": ((-5, 5), (2, 8), (-5, 3)), "knee": (0, 0, (0, 8))}


def _lean(v: Mapping[str, float]) -> float:
    return v["lean"]


FAMILY_LIST: tuple[Family, ...] = (
    # -- standing -------------------------------------------------------------------------
    Family(
        "standing_relaxed",
        "standing relaxed",
        "standing",
        ("legs", "arms"),
        {**ARMS_RELAXED, **STANCE, "spine": (0, 0, (-4, 6)), "head": (0, 0, (-5, 10))},
    ),
    Family(
        "standing_attention",
        "standing at attention",
        "standing",
        ("legs", "arms"),
        {
            "shoulder": ((0, 10), (-88, -84), (-3, 3)),
            "elbow": ((-6, 0), 0, 0),
            "hip": (0, (-2, 1), (-2, 2)),
            "spine": (0, 0, (-6, 0)),
        },
    ),
    Family(
        "t_pose",
        "standing with the arms stretched out to the sides",
        "standing",
        ("arms",),
        {"shoulder": ((-10, 10), (-8, 8), (-8, 8)), "elbow": ((-8, 0), 0, 0), **STANCE},
    ),
    Family(
        "arms_crossed",
        "standing with the arms crossed",
        "standing",
        ("arms",),
        {
            "shoulder": ((-5, 10), (-52, -44), (-80, -70)),
            "left_elbow": ((-112, -102), 0, 0),
            "right_elbow": ((-104, -96), 0, 0),
            **STANCE,
        },
    ),
    Family(
        "hands_on_hips",
        "standing with the hands on the hips",
        "standing",
        ("arms",),
        {"shoulder": HAND_ON_HIP, "elbow": ELBOW_ON_HIP, "hip": (0, (5, 12), 0)},
    ),
    # -- locomotion -----------------------------------------------------------------------
    Family(
        "walking",
        "walking",
        "locomotion",
        ("legs", "arms"),
        {
            "left_hip": (0, (0, 3), lambda v: -v["stride"]),
            "right_hip": (0, (0, 3), lambda v: 0.6 * v["stride"]),
            "left_knee": (0, 0, (5, 20)),
            "right_knee": (0, 0, (15, 40)),
            "right_ankle": (0, 0, (5, 20)),
            "left_shoulder": ((0, 10), (-80, -70), lambda v: 0.8 * v["stride"]),
            "right_shoulder": ((0, 10), (-80, -70), lambda v: -v["stride"]),
            "elbow": ((-35, -15), 0, 0),
            "spine": ((-8, 0), 0, (0, 5)),
        },
        variables={"stride": (15, 30)},
        side="left",
        sided_phrase="walking with the {side} leg forward",
    ),
    Family(
        "running",
        "running",
        "locomotion",
        ("legs", "arms"),
        {
            "left_hip": (0, (0, 5), (-70, -45)),
            "right_hip": (0, (0, 5), (15, 30)),
            "left_knee": (0, 0, (50, 90)),
            "right_knee": (0, 0, (50, 100)),
            "ankle": (0, 0, (5, 25)),
            "left_shoulder": ((20, 35), (-70, -55), (30, 50)),
            "right_shoulder": ((20, 35), (-65, -45), (-60, -40)),
            "elbow": ((-100, -75), 0, 0),
            "spine": ((-10, 0), 0, (0, 10)),
        },
        root=(0, 0, (6, 14)),
        side="left",
        sided_phrase="running with the {side} knee up",
    ),
    Family(
        "climbing",
        "climbing a ladder",
        "locomotion",
        ("arms", "legs"),
        {
            "left_shoulder": ((-10, 10), (55, 75), (-60, -40)),
            "left_elbow": ((-40, -15), 0, 0),
            "right_shoulder": ((-10, 10), (-15, 10), (-85, -65)),
            "right_elbow": ((-100, -70), 0, 0),
            "left_hip": (0, (0, 8), (-85, -60)),
            "left_knee": (0, 0, (75, 100)),
            "left_ankle": (0, 0, (-10, 10)),
            "right_hip": (0, (0, 5), (-10, 0)),
            "right_knee": (0, 0, (0, 15)),
            "head": (0, 0, (-25, -10)),
        },
        side="left",
        sided_phrase="climbing with the {side} hand and knee up",
    ),
    # -- sitting --------------------------------------------------------------------------
    Family(
        "sitting_chair",
        "sitting on a chair",
        "sitting",
        ("legs",),
        {
            "hip": ((-5, 5), (2, 10), (-95, -85)),
            "knee": (0, 0, (75, 100)),
            "ankle": (0, 0, (-5, 10)),
            "spine": (0, 0, (-5, 10)),
            "shoulder": ((-10, 10), (-75, -65), (-20, -5)),
            "elbow": ((-70, -50), 0, 0),
        },
    ),
    Family(
        "sitting_cross_legged",
        "sitting cross-legged on the floor",
        "sitting",
        ("legs",),
        {
            "left_hip": ((62, 68), (42, 48), (-96, -90)),
            "left_knee": (0, 0, (130, 138)),
            "right_hip": ((62, 68), (44, 50), (-76, -70)),
            "right_knee": (0, 0, (140, 148)),
            "ankle": (0, (-15, -5), (-25, -10)),
            "spine": (0, 0, (20, 32)),
            "shoulder": ((10, 25), (-70, -60), (-35, -20)),
            "elbow": ((-40, -20), 0, 0),
        },
        root=(0, 0, (-20, -14)),
        side="left",
        sided_phrase="sitting cross-legged with the {side} leg in front",
    ),
    Family(
        "sitting_legs_out",
        "sitting on the floor with the legs stretched out",
        "sitting",
        ("legs",),
        {
            "hip": ((-5, 5), (3, 10), lambda v: -90 - v["lean"]),
            "knee": (0, 0, (0, 12)),
            "ankle": (0, 0, (5, 20)),
            "spine": (0, 0, (-15, -5)),
            "shoulder": ((0, 15), (-75, -60), (25, 45)),
            "elbow": ((-10, 0), 0, 0),
        },
        root=(0, 0, _lean),
        variables={"lean": (-20, -10)},
    ),
    Family(
        "sitting_hugging_knees",
        "sitting on the floor hugging the knees",
        "sitting",
        ("legs", "arms"),
        {
            "hip": ((-5, 5), (5, 12), (-125, -110)),
            "knee": (0, 0, (120, 140)),
            "ankle": (0, 0, (-10, 10)),
            "spine": (0, 0, (15, 30)),
            "shoulder": ((30, 50), (-40, -25), (-70, -55)),
            "elbow": ((-70, -40), 0, 0),
        },
        root=(0, 0, (-35, -25)),
    ),
    # -- kneeling and crouching -----------------------------------------------------------
    Family(
        "kneeling_one_knee",
        "kneeling on one knee",
        "kneeling",
        ("legs",),
        {
            "left_hip": (0, (0, 5), (-5, 10)),
            "left_knee": (0, 0, (85, 100)),
            "left_ankle": (0, 0, (60, 85)),
            "right_hip": (0, (0, 8), (-95, -80)),
            "right_knee": (0, 0, (80, 100)),
            **ARMS_RELAXED,
        },
        side="left",
        sided_phrase="kneeling on the {side} knee",
    ),
    Family(
        "kneeling_both_knees",
        "kneeling on both knees",
        "kneeling",
        ("legs",),
        {
            "hip": (0, (2, 8), (-10, 10)),
            "knee": (0, 0, (85, 100)),
            "ankle": (0, 0, (60, 85)),
            **ARMS_RELAXED,
        },
    ),
    Family(
        "proposing",
        "proposing marriage on one knee",
        "kneeling",
        ("legs", "arms"),
        {
            "left_hip": (0, (0, 5), (-5, 10)),
            "left_knee": (0, 0, (85, 100)),
            "left_ankle": (0, 0, (60, 85)),
            "right_hip": (0, (0, 8), (-95, -80)),
            "right_knee": (0, 0, (80, 100)),
            "right_shoulder": ((-10, 10), (-5, 20), (-85, -65)),
            "right_elbow": ((-45, -15), 0, 0),
            "left_shoulder": ((0, 15), (-80, -70), (-10, 0)),
            "head": (0, 0, (-20, -5)),
        },
        side="left",
        sided_phrase="proposing marriage, kneeling on the {side} knee",
    ),
    Family(
        "squatting",
        "squatting",
        "crouching",
        ("legs",),
        {
            "hip": ((5, 15), (12, 25), lambda v: v["thigh"] - v["lean"]),
            "knee": (0, 0, lambda v: v["shin"] - v["thigh"]),
            "ankle": (0, 0, lambda v: -v["shin"] + 5),
            "spine": (0, 0, (0, 12)),
            "shoulder": ((-10, 10), (-25, 0), (-85, -65)),
            "elbow": ((-30, -5), 0, 0),
        },
        root=(0, 0, _lean),
        variables={"lean": (20, 35), "thigh": (-95, -80), "shin": (25, 35)},
    ),
    Family(
        "crouching",
        "crouching with the hands on the floor",
        "crouching",
        ("legs", "arms"),
        {
            "hip": ((5, 15), (12, 25), lambda v: v["thigh"] - v["lean"]),
            "knee": (0, 0, lambda v: v["shin"] - v["thigh"]),
            "ankle": (0, 0, lambda v: -v["shin"] + 5),
            "spine": (0, 0, (20, 35)),
            "shoulder": ((-10, 10), lambda v: v["lean"] - 40, (-85, -70)),
            "elbow": ((-15, 0), 0, 0),
            "head": (0, 0, (-20, 0)),
        },
        root=(0, 0, _lean),
        variables={"lean": (35, 45), "thigh": (-100, -85), "shin": (35, 45)},
    ),
    Family(
        "all_fours",
        "on all fours",
        "crouching",
        ("legs", "arms"),
        {
            "hip": (0, (3, 8), lambda v: -v["lean"]),
            "knee": (0, 0, (85, 95)),
            "ankle": (0, 0, (60, 85)),
            "shoulder": ((-5, 5), lambda v: v["lean"] - 90, (-95, -85)),
            "elbow": ((-8, 0), 0, 0),
            "neck": (0, 0, (-30, -15)),
        },
        root=(0, 0, _lean),
        variables={"lean": (68, 76)},
    ),
    # -- lying ----------------------------------------------------------------------------
    Family(
        "lying_on_back",
        "lying on the back",
        "lying",
        ("torso",),
        {
            "hip": ((-10, 10), (3, 10), (-5, 0)),
            "knee": (0, 0, (0, 10)),
            "ankle": (0, 0, (20, 40)),
            "shoulder": ((0, 20), (-80, -65), (-5, 5)),
            "elbow": ((-20, 0), 0, 0),
        },
        root=(0, 0, -90),
    ),
    Family(
        "lying_on_front",
        "lying face down",
        "lying",
        ("torso",),
        {
            "hip": ((-10, 10), (3, 10), (0, 5)),
            "knee": (0, 0, (0, 15)),
            "ankle": (0, 0, (40, 60)),
            "shoulder": ((-10, 10), (-80, -65), (0, 10)),
            "elbow": ((-15, 0), 0, 0),
            "neck": ((30, 50), 0, (-15, 0)),
        },
        root=(0, 0, 90),
    ),
    Family(
        "lying_on_side",
        "lying on the side",
        "lying",
        ("torso", "legs"),
        {
            "hip": (0, (0, 5), (-50, -25)),
            "knee": (0, 0, (30, 70)),
            "left_shoulder": ((-10, 10), (-10, 10), (-95, -75)),
            "left_elbow": ((-60, -20), 0, 0),
            "right_shoulder": ((20, 40), (-70, -55), (-30, -15)),
            "right_elbow": ((-20, 0), 0, 0),
            "neck": (0, (5, 15), 0),
        },
        root=(0, -90, 0),
        side="left",
        sided_phrase="lying on the {side} side",
    ),
    # -- bending and reaching -------------------------------------------------------------
    Family(
        "bending_forward",
        "bending forward to touch the toes",
        "bending",
        ("torso", "arms"),
        {
            "hip": (0, (0, 4), lambda v: -v["lean"]),
            "spine": (0, 0, (30, 45)),
            "shoulder": ((-10, 10), lambda v: v["lean"] - 40, (-95, -80)),
            "elbow": ((-10, 0), 0, 0),
        },
        root=(0, 0, _lean),
        variables={"lean": (90, 110)},
    ),
    Family(
        "reaching_up",
        "reaching up high",
        "reaching",
        ("arms",),
        {
            "left_collar": ((20, 30), 0, 0),
            "left_shoulder": ((-10, 10), (75, 85), (-20, -5)),
            "left_elbow": ((-10, 0), 0, 0),
            "right_collar": ((5, 15), 0, 0),
            "right_shoulder": ((-10, 10), (50, 70), (-35, -15)),
            "right_elbow": ((-30, -5), 0, 0),
            "spine": (0, (-6, 0), (-8, 0)),
            "neck": (0, 0, (-30, -15)),
            "ankle": (0, 0, (20, 40)),
        },
        side="left",
        sided_phrase="reaching up high with the {side} hand",
    ),
    Family(
        "reaching_forward",
        "reaching forward",
        "reaching",
        ("arms",),
        {
            "collar": (0, 0, (-20, -10)),
            "shoulder": ((-5, 10), (-10, 5), (-90, -75)),
            "elbow": ((-12, 0), 0, 0),
            "spine": (0, 0, (10, 25)),
            **STANCE,
        },
    ),
    Family(
        "overhead_stretch",
        "stretching both arms overhead",
        "exercise",
        ("arms",),
        {**ARMS_UP, "spine": (0, 0, (-10, -3)), "neck": (0, 0, (-15, 0))},
    ),
    Family(
        "side_stretch",
        "stretching to the side",
        "exercise",
        ("arms", "torso"),
        {
            "left_collar": ((10, 20), 0, 0),
            "left_shoulder": ((-10, 10), (75, 85), (-10, 5)),
            "left_elbow": ((-35, -10), 0, 0),
            "right_shoulder": HAND_ON_HIP,
            "right_elbow": ELBOW_ON_HIP,
            "spine": (0, (20, 35), 0),
            "hip": (0, (5, 12), 0),
        },
        side="left",
        sided_phrase="stretching sideways with the {side} arm over the head",
    ),
    # -- gestures -------------------------------------------------------------------------
    Family(
        "waving",
        "waving",
        "gesture",
        ("arms",),
        {
            "left_shoulder": ((-88, -74), (-12, 5), (-20, -7)),
            "left_elbow": ((-95, -74), 0, 0),
            "right_shoulder": ARMS_RELAXED["shoulder"],
            "right_elbow": ARMS_RELAXED["elbow"],
            **STANCE,
        },
        side="left",
        sided_phrase="waving with the {side} hand",
    ),
    Family(
        "pointing",
        "pointing",
        "gesture",
        ("arms",),
        {
            "left_shoulder": ((-10, 10), (-5, 15), (-95, -70)),
            "left_elbow": ((-10, 0), 0, 0),
            "right_shoulder": ARMS_RELAXED["shoulder"],
            "right_elbow": ARMS_RELAXED["elbow"],
            "neck": ((5, 15), 0, 0),
            **STANCE,
        },
        side="left",
        sided_phrase="pointing with the {side} hand",
    ),
    Family(
        "cheering",
        "cheering with both arms up",
        "gesture",
        ("arms",),
        {
            "collar": ((5, 15), 0, 0),
            "shoulder": ((-20, 0), (50, 70), (-20, 0)),
            "elbow": ((-30, 0), 0, 0),
            "neck": (0, 0, (-25, -10)),
            **STANCE,
        },
    ),
    Family(
        "celebrating",
        "celebrating with a fist pump",
        "gesture",
        ("arms",),
        {
            "left_shoulder": ((-85, -70), (15, 35), (-20, -8)),
            "left_elbow": ((-100, -75), 0, 0),
            "right_shoulder": ((-10, 10), (-80, -70), (10, 25)),
            "right_elbow": ((-110, -90), 0, 0),
            "knee": (0, 0, (10, 25)),
            "hip": (0, (5, 10), (-15, -5)),
            "spine": (0, 0, (5, 15)),
        },
        side="left",
        sided_phrase="celebrating with the {side} fist raised",
    ),
    Family(
        "hugging",
        "opening the arms for a hug",
        "gesture",
        ("arms",),
        {
            "shoulder": ((-22, -8), (-32, -22), (-62, -50)),
            "elbow": ((-60, -45), 0, 0),
            "spine": (0, 0, (0, 8)),
            **STANCE,
        },
    ),
    Family(
        "praying",
        "praying with the hands together",
        "gesture",
        ("arms",),
        {
            "shoulder": ((-18, -2), (-70, -62), (-62, -52)),
            "elbow": ((-110, -98), 0, 0),
            "neck": (0, 0, (10, 25)),
            **STANCE,
        },
    ),
    Family(
        "thinking",
        "thinking with a hand on the chin",
        "gesture",
        ("arms", "head"),
        {
            "left_shoulder": ((-65, -50), (-56, -47), (-106, -96)),
            "left_elbow": ((-138, -128), 0, 0),
            "right_shoulder": ((0, 10), (-55, -50), (-75, -65)),
            "right_elbow": ((-100, -90), 0, 0),
            "neck": (0, (-10, 0), (5, 15)),
            **STANCE,
        },
        side="left",
        sided_phrase="thinking with the {side} hand on the chin",
    ),
    Family(
        "phone_call",
        "talking on the phone",
        "gesture",
        ("arms", "head"),
        {
            "left_shoulder": ((-52, -40), (-48, -38), (-60, -50)),
            "left_elbow": ((-160, -150), 0, 0),
            "right_shoulder": ARMS_RELAXED["shoulder"],
            "right_elbow": ARMS_RELAXED["elbow"],
            "neck": (0, (-12, -3), 0),
            **STANCE,
        },
        side="left",
        sided_phrase="holding a phone to the {side} ear",
    ),
    Family(
        "saluting",
        "saluting",
        "gesture",
        ("arms",),
        {
            "left_collar": ((5, 10), 0, 0),
            "left_shoulder": ((-58, -45), (3, 14), (-32, -20)),
            "left_elbow": ((-138, -127), 0, 0),
            "right_shoulder": ((0, 10), (-88, -84), (-3, 3)),
            "right_elbow": ((-6, 0), 0, 0),
            "hip": (0, (-2, 1), (-2, 2)),
        },
        side="left",
        sided_phrase="saluting with the {side} hand",
    ),
    # -- everyday actions -----------------------------------------------------------------
    Family(
        "carrying",
        "carrying a box in front",
        "everyday",
        ("arms",),
        {
            "shoulder": ((-50, -38), (-75, -65), (-58, -46)),
            "elbow": ((-78, -62), 0, 0),
            "spine": (0, 0, (-10, -3)),
            "knee": (0, 0, (5, 15)),
        },
    ),
    Family(
        "pushing",
        "pushing something heavy",
        "everyday",
        ("arms", "legs"),
        {
            "shoulder": ((-5, 10), (-10, 5), (-90, -78)),
            "elbow": ((-30, -5), 0, 0),
            "left_hip": (0, (0, 5), lambda v: -35 - v["lean"]),
            "left_knee": (0, 0, (30, 50)),
            "right_hip": (0, (0, 5), lambda v: 25 - v["lean"]),
            "right_knee": (0, 0, (0, 10)),
            "right_ankle": (0, 0, (-25, -10)),
            "neck": (0, 0, (-20, -5)),
        },
        root=(0, 0, _lean),
        variables={"lean": (15, 30)},
        side="left",
        sided_phrase="pushing with the {side} foot forward",
    ),
    Family(
        "pulling",
        "pulling a rope",
        "everyday",
        ("arms", "legs"),
        {
            "shoulder": ((-5, 10), (-20, -5), (-90, -78)),
            "elbow": ((-45, -10), 0, 0),
            "left_hip": (0, (0, 5), lambda v: -30 - v["lean"]),
            "left_knee": (0, 0, (0, 15)),
            "right_hip": (0, (0, 5), lambda v: 5 - v["lean"]),
            "right_knee": (0, 0, (30, 50)),
            "spine": (0, 0, (0, 10)),
        },
        root=(0, 0, _lean),
        variables={"lean": (-25, -12)},
        side="left",
        sided_phrase="pulling with the {side} foot forward",
    ),
    # -- jumping and exercise -------------------------------------------------------------
    Family(
        "star_jump",
        "doing a star jump",
        "jumping",
        ("arms", "legs"),
        {
            "shoulder": ((-10, 10), (30, 60), (-10, 5)),
            "elbow": ((-12, 0), 0, 0),
            "hip": (0, (25, 40), (-5, 0)),
            "knee": (0, 0, (0, 10)),
            "ankle": (0, 0, (20, 40)),
        },
    ),
    Family(
        "tuck_jump",
        "doing a tuck jump",
        "jumping",
        ("legs",),
        {
            "hip": ((-5, 5), (5, 15), (-120, -100)),
            "knee": (0, 0, (110, 135)),
            "ankle": (0, 0, (20, 40)),
            "shoulder": ((0, 20), (-30, -10), (-75, -60)),
            "elbow": ((-60, -30), 0, 0),
            "spine": (0, 0, (10, 25)),
        },
    ),
    Family(
        "lunging",
        "lunging forward",
        "exercise",
        ("legs",),
        {
            "left_hip": (0, (0, 5), (-80, -70)),
            "left_knee": (0, 0, (75, 90)),
            "left_ankle": (0, 0, (-10, 0)),
            "right_hip": (0, (0, 5), (20, 30)),
            "right_knee": (0, 0, (55, 70)),
            "right_ankle": (0, 0, (-5, 10)),
            "shoulder": HAND_ON_HIP,
            "elbow": ELBOW_ON_HIP,
        },
        side="left",
        sided_phrase="lunging forward on the {side} leg",
    ),
    # -- yoga -----------------------------------------------------------------------------
    Family(
        "yoga_tree",
        "in the yoga tree pose",
        "yoga",
        ("legs", "arms"),
        {
            "right_hip": ((40, 55), (45, 60), (-45, -30)),
            "right_knee": (0, 0, (125, 145)),
            "right_ankle": (0, 0, (10, 30)),
            "left_hip": (0, (-4, 0), 0),
            **ARMS_UP,
        },
        side="left",
        sided_phrase="in the yoga tree pose, standing on the {side} leg",
    ),
    Family(
        "yoga_warrior_two",
        "in the yoga warrior II pose",
        "yoga",
        ("legs", "arms"),
        {
            "left_hip": ((20, 35), (35, 50), (-60, -45)),
            "left_knee": (0, 0, (70, 95)),
            "right_hip": ((-20, -5), (35, 45), (0, 10)),
            "right_knee": (0, 0, (0, 8)),
            "spine": ((-40, -25), 0, 0),
            "shoulder": ((-10, 10), (-8, 5), (-8, 8)),
            "elbow": ((-8, 0), 0, 0),
            "neck": ((40, 55), 0, 0),
        },
        root=((35, 45), 0, 0),
        side="left",
        sided_phrase="in the yoga warrior II pose, the {side} knee bent",
    ),
    Family(
        "yoga_downward_dog",
        "in the downward dog yoga pose",
        "yoga",
        ("legs", "arms", "torso"),
        {
            # legs as far from vertical as the arms, so that hands and feet reach the floor
            "hip": (0, (3, 8), lambda v: 45 + 1.1 * (132 - v["lean"]) - v["lean"]),
            "ankle": (0, 0, (-25, -10)),
            "collar": ((10, 20), 0, 0),
            "shoulder": ((-10, 10), (75, 85), (-15, 0)),
            "elbow": ((-5, 0), 0, 0),
            "neck": (0, 0, (0, 15)),
        },
        root=(0, 0, _lean),
        variables={"lean": (127, 138)},
    ),
    # -- sport ----------------------------------------------------------------------------
    Family(
        "throwing",
        "throwing a ball",
        "sport",
        ("arms", "legs"),
        {
            "left_shoulder": ((-80, -60), (10, 30), (20, 45)),
            "left_elbow": ((-100, -70), 0, 0),
            "right_shoulder": ((-10, 10), (-5, 20), (-85, -60)),
            "right_elbow": ((-30, -5), 0, 0),
            "right_hip": (0, (5, 10), (-35, -20)),
            "right_knee": (0, 0, (10, 25)),
            "left_hip": (0, (5, 10), (5, 15)),
            "left_knee": (0, 0, (5, 20)),
            "spine": ((5, 12), (-8, 0), (-8, 0)),
        },
        side="left",
        sided_phrase="throwing with the {side} arm",
    ),
    Family(
        "kicking",
        "kicking a ball",
        "sport",
        ("legs",),
        {
            "left_hip": (0, (0, 8), (-85, -55)),
            "left_knee": (0, 0, (0, 30)),
            "left_ankle": (0, 0, (20, 40)),
            "right_knee": (0, 0, (5, 15)),
            "shoulder": ((-10, 10), (-35, -10), (-20, 15)),
            "elbow": ((-30, -5), 0, 0),
            "spine": (0, 0, (-15, -5)),
        },
        side="left",
        sided_phrase="kicking with the {side} leg",
    ),
    Family(
        "boxing_guard",
        "in a boxing guard",
        "sport",
        ("arms", "legs"),
        {
            "shoulder": ((-70, -58), (-55, -46), (-90, -78)),
            "elbow": ((-130, -117), 0, 0),
            "left_hip": ((-10, 0), (5, 10), (-25, -12)),
            "left_knee": (0, 0, (10, 25)),
            "right_hip": ((-10, 0), (5, 10), (0, 10)),
            "right_knee": (0, 0, (15, 30)),
            "spine": (0, 0, (5, 12)),
            "neck": (0, 0, (5, 15)),
        },
        side="left",
        sided_phrase="in a boxing guard with the {side} foot forward",
    ),
    Family(
        "golf_swing",
        "at the top of a golf swing",
        "sport",
        ("arms", "torso"),
        {
            "left_shoulder": ((0, 20), (5, 25), (-120, -100)),
            "left_elbow": ((-10, 0), 0, 0),
            "right_shoulder": ((-90, -70), (10, 30), (-20, 0)),
            "right_elbow": ((-100, -80), 0, 0),
            "spine": ((-45, -30), 0, (15, 25)),
            "hip": (0, (3, 8), (-25, -15)),
            "knee": (0, 0, (15, 25)),
            "neck": ((15, 25), 0, (10, 20)),
        },
        side="left",
        sided_phrase="swinging a golf club over the {side} shoulder",
    ),
    Family(
        "tennis_serve",
        "serving in tennis",
        "sport",
        ("arms",),
        {
            "left_collar": ((20, 30), 0, 0),
            "left_shoulder": ((-10, 10), (70, 85), (-15, 5)),
            "left_elbow": ((-20, 0), 0, 0),
            "right_shoulder": ((-10, 10), (-35, -10), (-75, -55)),
            "right_elbow": ((-20, 0), 0, 0),
            "spine": (0, (-10, -3), (-15, -5)),
            "neck": (0, 0, (-35, -20)),
            "knee": (0, 0, (10, 25)),
            "ankle": (0, 0, (15, 30)),
        },
        side="left",
        sided_phrase="serving in tennis with the {side} arm",
    ),
    # -- dance ----------------------------------------------------------------------------
    Family(
        "dancing_disco",
        "dancing disco, one finger pointing up",
        "dance",
        ("arms",),
        {
            "left_shoulder": ((-10, 10), (45, 65), (-30, -10)),
            "left_elbow": ((-10, 0), 0, 0),
            "right_shoulder": HAND_ON_HIP,
            "right_elbow": ELBOW_ON_HIP,
            "right_hip": (0, (10, 20), (-10, 0)),
            "right_knee": (0, 0, (10, 25)),
            "spine": (0, (-10, -3), 0),
        },
        side="left",
        sided_phrase="dancing disco with the {side} hand pointing up",
    ),
    Family(
        "dancing_ballet",
        "dancing ballet in an arabesque",
        "dance",
        ("legs", "arms"),
        {
            "left_knee": (0, 0, (0, 5)),
            "left_hip": (0, 0, lambda v: -v["lean"]),
            "right_hip": (0, (0, 5), (25, 40)),
            "right_knee": (0, 0, (0, 8)),
            "right_ankle": (0, 0, (35, 50)),
            "left_shoulder": ((-10, 10), (5, 25), (10, 30)),
            "right_shoulder": ((-10, 10), (5, 25), (-90, -70)),
            "elbow": ((-15, 0), 0, 0),
            "spine": (0, 0, (-10, 0)),
        },
        root=(0, 0, _lean),
        variables={"lean": (15, 30)},
        side="left",
        sided_phrase="dancing ballet on the {side} leg",
    ),
    Family(
        "dancing_twist",
        "dancing the twist",
        "dance",
        ("legs", "arms"),
        {
            "hip": ((-20, -10), (5, 10), (-30, -15)),
            "knee": (0, 0, (30, 50)),
            "ankle": (0, 0, (-15, 0)),
            "spine": ((20, 35), 0, (5, 10)),
            "shoulder": ((30, 45), (-55, -35), (-45, -25)),
            "elbow": ((-100, -75), 0, 0),
        },
        root=((-30, -20), 0, 0),
        side="left",
        sided_phrase="dancing the twist, turning to the {side}",
    ),
)

#: The larger world: families from the data table `world/families.yaml` (`posegpt.synth.world`).
WORLD = load_world_families(Family, {f.name: f for f in FAMILY_LIST})
FAMILY_LIST = FAMILY_LIST + WORLD.families

FAMILY_INFO: dict[str, Family] = {f.name: f for f in FAMILY_LIST}
FAMILIES: tuple[str, ...] = tuple(FAMILY_INFO)
FAMILY_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(f.name for f in FAMILY_LIST if f.group == group)
    for group in dict.fromkeys(f.group for f in FAMILY_LIST)
}
