"""Pose sources: the procedural generator of plausible poses in many families.

`PoseGenerator` samples a family's template (`posegpt.synth.pose_families`), adds a little noise
to every joint (a lot to a `wild_share` of the poses), clips to the joint limits, mirrors
left/right at random (the family name stays; `params["side"]` says which side the pose uses),
turns the body about the vertical at random, and rejects poses whose limbs pass through the
torso or each other. Every sample draws from its own random stream, keyed by (seed, sample
number): the same seed gives the same poses, one at a time or in batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

import numpy as np
import roma
import torch
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.body.limits import clamp_to_limits, joint_limits
from posegpt.body.rotations import flip_pose
from posegpt.body.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS
from posegpt.errors import InvalidInputError
from posegpt.synth.plausibility import ground_offset, self_intersecting
from posegpt.synth.pose_families import FAMILIES, FAMILY_GROUPS, FAMILY_INFO, SIDES, Angle, Family

__all__ = [
    "FAMILIES",
    "FAMILY_GROUPS",
    "FAMILY_INFO",
    "PoseGenerator",
    "PoseSample",
    "PoseSource",
    "PoseSourceBase",
    "UsesBody",
    "check_family",
]

#: Most samples one call may ask for.
MAX_SAMPLES = 10_000_000
#: Poses drawn and checked together (one body forward).
CHUNK = 64
#: Root (pelvis) angles are (yaw, roll, pitch) in this convention.
ROOT_CONVENTION = "yzx"
#: Shoulders are written as (twist, elevation, azimuth) in this convention.
SHOULDER_CONVENTION = "xzy"
#: Rotation noise (degrees, per body joint and axis; the root keeps `noise_deg`) of the wild
#: share of poses.
WILD_NOISE_DEG = 12.0
_SPINE = ("spine1", "spine2", "spine3")
_MIRROR = torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])


@dataclass
class PoseSample:
    """One pose: (24, 3, 3) float32 rotations, its family and sampled parameters, the posed
    joints (24, 3) (pelvis at the origin, y-up, metres) and the height of the lowest vertex
    (`ground_offset`: subtract it from y to stand the body on the floor)."""

    rotmat: torch.Tensor
    family: str
    params: dict = field(default_factory=dict)
    joints: torch.Tensor | None = None
    ground_offset: float = 0.0


class PoseSource(Protocol):
    """Anything that hands out poses: the generator, real data (`posegpt.synth.real_poses`)."""

    def sample(self, family: str | None = None) -> PoseSample: ...

    def sample_many(
        self, n: int, family: str | None = None, progress: bool = False
    ) -> list[PoseSample]: ...


class UsesBody:
    """Holds the body model given at construction, or loads the shared default on first use."""

    _body: BodyModel | None = None

    @property
    def body(self) -> BodyModel:
        if self._body is None:
            from posegpt.body import load_body_model

            self._body = load_body_model()
        return self._body


class PoseSourceBase(UsesBody):
    """`sample` through `sample_many`, and the bound on how many poses one call may ask for."""

    def sample(self, family: str | None = None) -> PoseSample:
        """One pose (of `family` where the source has families)."""
        return self.sample_many(1, family)[0]

    def sample_many(
        self, n: int, family: str | None = None, progress: bool = False
    ) -> list[PoseSample]:
        raise NotImplementedError

    @staticmethod
    def _check_count(n: int) -> None:
        if not 0 <= n <= MAX_SAMPLES:
            raise InvalidInputError(f"n must be between 0 and {MAX_SAMPLES}, got {n}")


def check_family(name: str) -> Family:
    """The family called `name`, or InvalidInputError listing the valid names."""
    if name not in FAMILY_INFO:
        raise InvalidInputError(f"unknown pose family {name!r}; valid: {', '.join(FAMILIES)}")
    return FAMILY_INFO[name]


@cache
def _authoring_conventions() -> tuple[tuple[str, torch.Tensor], ...]:
    """Joints grouped by the Euler convention their template angles are written in."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(JOINT_NAMES):
        if j == 0:
            convention = ROOT_CONVENTION
        elif name.endswith("_shoulder"):
            convention = SHOULDER_CONVENTION
        else:
            convention = joint_limits(name)[0]
        groups.setdefault(convention, []).append(j)
    return tuple((c, torch.tensor(idx)) for c, idx in groups.items())


def _targets(key: str) -> list[tuple[int, float]]:
    """Joint indices a template key sets, with the share of the angles each one gets."""
    if key == "spine":
        return [(JOINT_INDEX[s], 1.0 / len(_SPINE)) for s in _SPINE]
    if key in JOINT_INDEX:
        return [(JOINT_INDEX[key], 1.0)]
    return [(JOINT_INDEX[f"{side}_{key}"], 1.0) for side in SIDES]


class _Draw:
    """Resolves template angles from one random stream (or at range centres)."""

    def __init__(self, rng: np.random.Generator | None, variables: Mapping[str, tuple]):
        self.rng = rng
        self.variables = {k: self.value(r) for k, r in variables.items()}

    def value(self, spec: Angle) -> float:
        if callable(spec):
            return float(spec(self.variables))
        if isinstance(spec, tuple):
            lo, hi = spec
            return float((lo + hi) / 2 if self.rng is None else self.rng.uniform(lo, hi))
        return float(spec)


def template_angles(
    family: Family, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """A family's (24, 3) template angles in degrees (see `posegpt.synth.pose_families`) and its
    variables; `rng=None` puts every range at its centre."""
    draw = _Draw(rng, family.variables)
    angles = np.zeros((NUM_JOINTS, 3))
    angles[0] = [draw.value(a) for a in family.root]
    for key, spec in family.joints.items():
        values = np.array([draw.value(a) for a in spec])
        for j, share in _targets(key):
            angles[j] = values * share
    return angles, draw.variables


def angles_to_rotmat(angles: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) template angles in degrees -> (B, 24, 3, 3) rotations."""
    rotmat = torch.empty(*angles.shape, 3, dtype=angles.dtype)
    for convention, idx in _authoring_conventions():
        rotmat[:, idx] = roma.euler_to_rotmat(convention, angles[:, idx], degrees=True)
    right = [j for j, n in enumerate(JOINT_NAMES) if n.startswith("right_")]
    rotmat[:, right] = rotmat[:, right] * _MIRROR  # right joints were written with left signs
    return rotmat


def template_pose(
    family: Family, rng: np.random.Generator | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    """A family's (24, 3, 3) pose before noise, limits and mirroring, with its variables
    (`rng=None`: every range at its centre)."""
    angles, variables = template_angles(family, rng)
    return angles_to_rotmat(torch.as_tensor(angles, dtype=torch.float32)[None])[0], variables


def _yaw(rotmat: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Turn (B, 24, 3, 3) poses about the vertical by `degrees` (B,)."""
    out = rotmat.clone()
    turn = roma.euler_to_rotmat("y", degrees[:, None], degrees=True).to(rotmat)
    out[:, 0] = turn @ rotmat[:, 0]
    return out


class PoseGenerator(PoseSourceBase):
    """Seeded sampler of plausible poses from the procedural families.

    families: restrict sampling to these names (default: all `FAMILIES`).
    random_yaw: turn each body about the vertical at random; False keeps it facing +z.
    mirror: mirror half of the poses left/right.
    noise_deg: standard deviation of the rotation noise added to every joint.
    wild_share: share of the poses whose body joints get `WILD_NOISE_DEG` of noise, far from their
        family's template (poses no family describes, as people in photos take them).

    Each sample's params hold "mirrored", "yaw" (degrees), "description" (the family's
    phrase, naming the side), "side" for sided families and the family's variables; wild
    poses also hold "wild": True.
    """

    def __init__(
        self,
        seed: int = 0,
        families: Sequence[str] | None = None,
        random_yaw: bool = True,
        body: BodyModel | None = None,
        *,
        mirror: bool = True,
        noise_deg: float = 3.0,
        wild_share: float = 0.0,
        max_retries: int = 30,
    ) -> None:
        if not 0.0 <= wild_share <= 1.0:
            raise InvalidInputError(f"wild_share must be 0..1, got {wild_share}")
        names = tuple(families) if families is not None else FAMILIES
        if not names:
            raise InvalidInputError("families must name at least one pose family")
        self.families = tuple(check_family(n).name for n in names)
        self.seed = int(seed)
        self.random_yaw = random_yaw
        self.mirror = mirror
        self.noise_deg = float(noise_deg)
        self.wild_share = float(wild_share)
        self.max_retries = int(max_retries)
        self._body = body
        self._drawn = 0

    def sample_many(
        self,
        n: int,
        family: str | None = None,
        progress: bool = False,
        families: Sequence[str] | None = None,
        at: int | None = None,
    ) -> list[PoseSample]:
        """The next `n` poses of this generator's sequence, of `family`, of `families[k]` for
        the k-th pose (poses of many families drawn in shared batches), or of families drawn
        uniformly from `self.families`. `at`: the `n` poses from that place of the sequence
        instead (the same poses whatever was drawn before; the next ones stay next)."""
        self._check_count(n)
        for name in ({family} | set(families or ())) - {None}:
            check_family(name)
        if families is not None and len(families) != n:
            raise InvalidInputError(f"families must name {n} families, got {len(families)}")
        if at is None:
            first, self._drawn = self._drawn, self._drawn + n
        elif at >= 0:
            first = int(at)
        else:
            raise InvalidInputError(f"at must be a place in the sequence (>= 0), got {at}")
        out: list[PoseSample] = []
        with tqdm(total=n, disable=not progress, desc="poses", unit="pose") as bar:
            for start in range(first, first + n, CHUNK):
                numbers = range(start, min(start + CHUNK, first + n))
                names = [families[i - first] for i in numbers] if families is not None else None
                out.extend(self._chunk(numbers, family, names))
                bar.update(len(out) - bar.n)
        return out

    def _chunk(
        self, numbers: range, family: str | None, names: list[str] | None = None
    ) -> list[PoseSample]:
        rngs = [np.random.default_rng([self.seed, i]) for i in numbers]
        # whether a pose is wild comes from a stream of its own, kept over retries: without a
        # wild share every pose is the one the seed gives
        wilds = [
            self.wild_share > 0
            and bool(np.random.default_rng([self.seed, i, 1]).random() < self.wild_share)
            for i in numbers
        ]
        if names is None:
            names = [family or self.families[rng.integers(len(self.families))] for rng in rngs]
        found: dict[int, tuple] = {}
        pending = list(range(len(rngs)))
        for _ in range(self.max_retries):
            self._keep(pending, names, rngs, wilds, found, centre=False)
            pending = [i for i in pending if i not in found]
            if not pending:
                break
        if pending:  # rare: fall back to the family's centre pose, which is plausible
            self._keep(pending, names, rngs, wilds, found, centre=True)
        return [
            PoseSample(rot, names[i], params, joints, offset)
            for i, (rot, params, joints, offset) in sorted(found.items())
        ]

    def _keep(
        self,
        slots: list[int],
        names: list[str],
        rngs: list,
        wilds: list[bool],
        found: dict,
        centre: bool,
    ):
        """Draw a pose for each slot; store those without self-intersection (all if `centre`)."""
        rotmat, params = self._draw(
            [FAMILY_INFO[names[i]] for i in slots],
            [rngs[i] for i in slots],
            [wilds[i] for i in slots],
            centre,
        )
        with torch.no_grad():
            out = self.body(rotmat)
        ok = torch.ones(len(slots), dtype=torch.bool) if centre else ~self_intersecting(out.joints)
        offsets = ground_offset(out.vertices)
        for k, slot in enumerate(slots):
            if ok[k]:
                found[slot] = (rotmat[k], params[k], out.joints[k], float(offsets[k]))

    def _draw(
        self,
        families: list[Family],
        rngs: list[np.random.Generator],
        wilds: list[bool],
        centre: bool,
    ) -> tuple[torch.Tensor, list[dict]]:
        """One pose per (family, stream, wild or not): (B, 24, 3, 3) and each pose's params."""
        angles, noise, mirrored, yaw, params = [], [], [], [], []
        for family, rng, wild in zip(families, rngs, wilds, strict=True):
            wild = wild and not centre  # a centre pose (the fallback) is never wild
            a, variables = template_angles(family, None if centre else rng)
            angles.append(a)
            joint_noise = rng.normal(
                0.0, 0.0 if centre else np.radians(self.noise_deg), (NUM_JOINTS, 3)
            )
            mirrored.append(self.mirror and bool(rng.random() < 0.5))
            yaw.append(float(rng.uniform(-180.0, 180.0)) if self.random_yaw else 0.0)
            if wild:  # the body's joints, not its root: people stay upright
                joint_noise[1:] = rng.normal(0.0, np.radians(WILD_NOISE_DEG), (NUM_JOINTS - 1, 3))
            noise.append(joint_noise)
            p: dict = {"mirrored": mirrored[-1], "yaw": yaw[-1], **variables}
            if wild:
                p["wild"] = True
            if family.side is not None:
                p["side"] = _other(family.side) if mirrored[-1] else family.side
            p["description"] = family.describe(p.get("side"))
            params.append(p)
        rotmat = angles_to_rotmat(torch.as_tensor(np.stack(angles), dtype=torch.float32))
        rotmat = clamp_to_limits(
            rotmat @ roma.rotvec_to_rotmat(torch.as_tensor(np.stack(noise)).float())
        )
        flip = torch.tensor(mirrored)
        rotmat[flip] = flip_pose(rotmat[flip])
        return _yaw(rotmat, torch.tensor(yaw)), params


def _other(side: str) -> str:
    return "right" if side == "left" else "left"
