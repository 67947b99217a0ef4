"""Synthetic images of 1-4 people for image->pose and reasoning-based pose estimation (RPE).

Each person has a pose (from a pose family), a body shape, an outfit and a place on the floor;
the camera, a little above chest height, looks slightly down at the group. Every person comes
with the ground truth a model needs: the pose in the world and as the camera sees it, 2D COCO
keypoints with visibility, a bounding box, and five kinds of description (`DESCRIPTION_KINDS`),
each true of that person only.

Frames: the world is y-up with the floor at y = 0; the camera looks along -z, so a yaw of 0
faces it. `Person.rotmat_world` is the pose in the world (root = yaw x the pose's own root);
`Person.rotmat` has its root expressed in the camera frame, OpenCV axes as in HMR/SPIN data
(x right, y down, z forward): `rotmat[0] = camera.rotation @ rotmat_world[0]`, so an upright
person facing the camera has a root near a half turn about x. Joints 1-23 are the same in both.
`body(rotmat_world, betas, transl)` gives the person's world mesh.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import roma
import torch
from PIL import Image

from posegpt.body import BodyModel, load_body_model
from posegpt.body.rotations import check_rotmat, geodesic_distance
from posegpt.data.images import crop_square
from posegpt.errors import InvalidInputError, PoseGPTError
from posegpt.render import Camera, Mesh, frame_bodies, rasterize
from posegpt.synth.appearance import Outfit, body_part_labels, sample_outfit
from posegpt.synth.backdrops import Backdrop, draw_backdrop, sample_backdrop
from posegpt.synth.captioner import PoseCaptioner
from posegpt.synth.physique import Physique, sample_physique
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import PoseGenerator
from posegpt.synth.referring import (
    DESCRIPTION_KINDS,
    describe_absent,
    describe_people,
    position_words,
)

__all__ = [
    "DESCRIPTION_KINDS",
    "Person",
    "PersonSpec",
    "Scene",
    "SceneGenerator",
    "crop_box",
    "crop_person",
]

MAX_PEOPLE = 4
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 2048
#: A keypoint is visible when the surface drawn at its pixel is this person's and at most this
#: far (metres) in front of it: joints lie inside the body, a few centimetres under the skin.
VISIBILITY_TOLERANCE = 0.12
#: Largest share of a person's silhouette that nearer people may hide in sampled scenes.
MAX_OCCLUSION, OCCLUSION_GRID = 0.35, 64
#: A person is "near the door" within this floor distance of it, nearer by NEAR_DOOR_GAP than
#: anyone else.
NEAR_DOOR, NEAR_DOOR_GAP = 2.0, 0.8
MAX_ATTEMPTS, PEOPLE_TRIES = 48, 4  # scene tries; layouts tried per draw of people
#: Random layouts: floor patch width (times the people's summed widths), depth range (z, m),
#: free space between footprints (m), tries per person.
FLOOR_WIDTH, FLOOR_DEPTH, FOOTPRINT_GAP, FLOOR_TRIES = 1.0, (-1.5, 0.5), 0.1, 50
#: Draws of people a scene may take (a new draw every PEOPLE_TRIES tries). Each draw has its
#: own places in the pose generator's sequence (`_Places`), so that a scene is the same whatever
#: the scenes before it drew; first draws of POSE_BATCH scenes are checked in one body pass.
PEOPLE_DRAWS = -(-MAX_ATTEMPTS // PEOPLE_TRIES)
POSE_BATCH = 16
#: Where in a pose sequence the places of later draws begin, far past any first draw's.
REDRAWS = 2**40
#: Poses count as alike (descriptions of one may fit the other) below these angles (radians).
SIMILAR_JOINT_ANGLE, SIMILAR_TILT = 0.35, 0.5
BODY_JOINTS = 22  # joints 1..21 (the hands add nothing a description names)
BALD_CHANCE = 0.15  # for men
DECOY_TRIES = 8  # people drawn for a description that fits nobody in a scene
#: Most people face the camera within MAX_YAW (radians); WIDE_YAW_CHANCE of them face anywhere.
MAX_YAW, WIDE_YAW_CHANCE = 1.75, 0.15
#: Camera: eye height above the floor (m) and the range of its downward tilt (degrees).
EYE_HEIGHT, ELEVATION = (1.2, 1.7), (2.0, 15.0)


@dataclass
class PersonSpec:
    """A person to put in a scene. pose: (24, 3, 3) in the body's own frame; yaw: radians about
    the vertical (0 faces the camera); position: (x, z) of the pelvis on the floor, or None to
    let the scene lay people out; caption: a description of the pose, None to caption it."""

    pose: torch.Tensor
    family: str
    physique: Physique
    outfit: Outfit
    yaw: float = 0.0
    position: tuple[float, float] | None = None
    caption: str | None = None


@dataclass
class Person:
    """A person in a rendered scene (see the module docstring for the frames).

    rotmat, rotmat_world: (24, 3, 3); betas: (6,) anny phenotypes; transl: (3,) world
    translation of the body; box: (x0, y0, x1, y1) pixels of the whole projected body (hidden
    parts included); keypoints2d: (17, 3) COCO-17 x, y (pixels) and visible (0/1);
    descriptions: one per `DESCRIPTION_KINDS`; attributes: the words behind them.
    """

    rotmat: torch.Tensor
    rotmat_world: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    family: str
    box: tuple[float, float, float, float]
    keypoints2d: np.ndarray
    descriptions: dict[str, str]
    attributes: dict


@dataclass
class Scene:
    """A rendered image (H, W, 3) uint8, the people in it and the camera that took it; `absent`:
    a description of someone who is not in it (fits nobody there), or None."""

    image: np.ndarray
    people: list[Person]
    camera: Camera
    absent: str | None = None


@dataclass
class _Posed:
    """The people's bodies before they are placed: turned by their yaw, pelvis at the origin."""

    rotmat_world: torch.Tensor  # (N, 24, 3, 3)
    vertices: np.ndarray  # (N, V, 3)
    keypoints: np.ndarray  # (N, 17, 3)
    pelvis: np.ndarray  # (N, 3)
    similar: np.ndarray  # (N, N) bool, see `similar_poses`


@dataclass
class _Layout:
    """Everything about a scene but its pixels."""

    specs: list[PersonSpec]
    rotmat_world: torch.Tensor  # (N, 24, 3, 3)
    transl: np.ndarray  # (N, 3)
    vertices: np.ndarray  # (N, V, 3) world
    keypoints: np.ndarray  # (N, 17, 3) world
    camera: Camera
    backdrop: Backdrop
    boxes: np.ndarray  # (N, 4)
    distances: np.ndarray  # (N,) camera depth of the pelvis
    attributes: list[dict]
    descriptions: list[dict[str, str]] | None


def behaviour_phrase(family: str) -> str:
    """What a person in a pose family is doing, as a verb phrase ("kneeling on one knee")."""
    info = FAMILY_INFO.get(family)
    return info.phrase if info else family.replace("_", " ")


def similar_poses(poses: torch.Tensor, families: list[str]) -> np.ndarray:
    """(N, N) bool: whether two body-frame poses (N, 24, 3, 3) could share a description: the
    same family, or body joints within SIMILAR_JOINT_ANGLE on average and trunks tilted alike."""
    n = len(families)
    body = poses[:, 1:BODY_JOINTS]
    angle = geodesic_distance(body[:, None], body[None]).mean(-1)
    up = poses[:, 0, :, 1]  # where each root sends the body's up axis
    tilt = torch.arccos((up[:, None] * up[None]).sum(-1).clamp(-1.0, 1.0))
    same = np.array([[families[i] == families[j] for j in range(n)] for i in range(n)])
    return same | ((angle < SIMILAR_JOINT_ANGLE) & (tilt < SIMILAR_TILT)).numpy()


class _Places:
    """A pose generator's poses by place: draw `d` of item `i` is the `width` poses from place
    `i * width` (d = 0, fetched for POSE_BATCH items at once) or from REDRAWS on (d > 0)."""

    def __init__(self, generator: PoseGenerator, width: int, draws: int) -> None:
        self.generator, self.width, self.draws = generator, width, draws
        self._block, self._poses = -1, []

    def take(self, item: int, n: int, draw: int = 0) -> list:
        if draw > 0:
            place = REDRAWS + (item * self.draws + draw) * self.width
            return self.generator.sample_many(n, at=place)
        block, slot = divmod(item, POSE_BATCH)
        if block != self._block:
            size = POSE_BATCH * self.width
            self._block, self._poses = block, self.generator.sample_many(size, at=block * size)
        return self._poses[slot * self.width : slot * self.width + n]


class SceneGenerator:
    """Random scenes of 1-4 people, reproducible from `seed`."""

    def __init__(
        self,
        seed: int = 0,
        image_size: int = 224,
        body: BodyModel | None = None,
        pose_generator: PoseGenerator | None = None,
        captioner: PoseCaptioner | None = None,
        antialias: int = 2,
    ) -> None:
        if (
            not isinstance(image_size, (int, np.integer))
            or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE
        ):
            raise InvalidInputError(
                f"image_size must be a whole number of pixels in "
                f"{MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {image_size!r}"
            )
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        self.image_size = int(image_size)
        self.antialias = antialias
        self.body = body if body is not None else load_body_model()
        self.parts = body_part_labels(self.body)
        self.faces = self.body.faces.cpu().numpy()
        self.pose_generator = pose_generator or PoseGenerator(
            seed=seed, random_yaw=False, body=self.body
        )
        self.captioner = captioner or PoseCaptioner(self.body)
        # Decoys (people described but not in the scene) draw from their own streams (one per
        # scene, in `_absent`), so that the scenes are the same with or without them.
        self.decoy_poses = PoseGenerator(seed=seed + 1, random_yaw=False, body=self.body)
        self._people = _Places(self.pose_generator, MAX_PEOPLE, PEOPLE_DRAWS)
        self._decoys = _Places(self.decoy_poses, 1, DECOY_TRIES)
        self._scenes = 0  # scenes sampled so far: the next one's number

    def sample_people(self, n: int, scene: int, draw: int = 0) -> list[PersonSpec]:
        """`n` random people: pose, body shape, outfit and a yaw mostly toward the camera; their
        poses take the places of `draw` of `scene` in the pose generator's sequence."""
        people = []
        for pose in self._people.take(scene, n, draw):
            physique = sample_physique(self.rng)
            bald_chance = BALD_CHANCE if physique.noun == "man" else 0.0
            outfit = sample_outfit(self.rng, physique.age_group == "elderly", bald_chance)
            wide = self.rng.random() < WIDE_YAW_CHANCE
            yaw = self.rng.uniform(-np.pi, np.pi) if wide else self.rng.uniform(-MAX_YAW, MAX_YAW)
            rotmat = torch.as_tensor(pose.rotmat, dtype=torch.float32)
            caption = self._caption(rotmat)
            people.append(
                PersonSpec(rotmat, pose.family, physique, outfit, float(yaw), None, caption)
            )
        return people

    def _caption(self, pose: torch.Tensor) -> str:
        return self.captioner.caption(pose, "short", self.rng)

    def sample(self, num_people: int | None = None) -> Scene:
        """A random scene with `num_people` (1-4; None: random) people, each distinguishable by
        every kind of description and no more than mildly hidden by the others. The k-th scene
        draws from streams of its own (seed, k): a change to one scene leaves the others."""
        index, self._scenes = self._scenes, self._scenes + 1
        self.rng = np.random.default_rng([self.seed, index])
        if num_people is None:
            num_people = int(self.rng.integers(1, MAX_PEOPLE + 1))
        if not isinstance(num_people, (int, np.integer)) or not 1 <= num_people <= MAX_PEOPLE:
            raise InvalidInputError(f"num_people must be 1..{MAX_PEOPLE}, got {num_people!r}")
        for attempt in range(MAX_ATTEMPTS):
            if attempt % PEOPLE_TRIES == 0:  # else the same people, placed anew
                people = self.sample_people(num_people, index, attempt // PEOPLE_TRIES)
                posed = self._pose(people)
            layout = self._lay_out(people, posed)
            if layout.descriptions is not None and _occlusion(layout).max() <= MAX_OCCLUSION:
                return dataclasses.replace(self._render(layout), absent=self._absent(layout, index))
        raise PoseGPTError(f"found no valid scene of {num_people} people in {MAX_ATTEMPTS} tries")

    def compose(self, specs: list[PersonSpec]) -> Scene:
        """Render the given people (explicit positions are kept; occlusion is allowed)."""
        if not 1 <= len(specs) <= MAX_PEOPLE:
            raise InvalidInputError(f"a scene holds 1..{MAX_PEOPLE} people, got {len(specs)}")
        specs = [dataclasses.replace(s, pose=check_rotmat(s.pose)) for s in specs]
        layout = self._lay_out(specs, self._pose(specs))
        if layout.descriptions is None:
            raise InvalidInputError(
                "the people in this scene cannot be told apart by their descriptions"
            )
        return self._render(layout)

    def _pose(self, specs: list[PersonSpec]) -> _Posed:
        """Everyone's body, turned by their yaw, pelvis at the origin (one body pass)."""
        yaw = torch.tensor([[0.0, s.yaw, 0.0] for s in specs])
        rotmat_world = torch.stack([s.pose for s in specs]).clone()
        rotmat_world[:, 0] = roma.rotvec_to_rotmat(yaw) @ rotmat_world[:, 0]
        betas = torch.as_tensor(np.stack([s.physique.betas for s in specs]))
        with torch.no_grad():
            out = self.body(rotmat_world, betas=betas)
        return _Posed(
            rotmat_world,
            out.vertices.numpy(),
            out.keypoints3d[:, :17].numpy(),
            out.joints[:, 0].numpy(),
            similar_poses(torch.stack([s.pose for s in specs]), [s.family for s in specs]),
        )

    def _lay_out(self, specs: list[PersonSpec], posed: _Posed) -> _Layout:
        """Place the posed people on the floor, frame them, and describe them."""
        vertices = posed.vertices
        transl = np.zeros((len(specs), 3), dtype=np.float32)
        transl[:, 1] = -vertices[:, :, 1].min(axis=1)  # everyone stands on the floor
        transl[:, [0, 2]] = self._floor_positions(specs, vertices)
        vertices = vertices + transl[:, None]
        camera = self._camera(vertices)
        backdrop = sample_backdrop(self.rng, camera, behind_z=float(vertices[:, :, 2].min()))
        boxes = np.stack([_box(camera, v) for v in vertices])
        distances = camera.to_camera(posed.pelvis + transl)[:, 2]
        attributes = self._attributes(specs, camera, backdrop, boxes, distances, transl)
        return _Layout(
            specs,
            posed.rotmat_world,
            transl,
            vertices,
            posed.keypoints + transl[:, None],
            camera,
            backdrop,
            boxes,
            distances,
            attributes,
            describe_people(attributes, self.rng, posed.similar),
        )

    def _camera(self, vertices: np.ndarray) -> Camera:
        """A camera that frames every body, its eye EYE_HEIGHT above the floor where the group
        is small enough to allow it, looking down at ELEVATION degrees or less."""
        margin, fov = float(self.rng.uniform(0.03, 0.12)), float(self.rng.uniform(35.0, 60.0))
        level = frame_bodies(list(vertices), "front", self.image_size, margin, fov)
        target = vertices.reshape(-1, 3).min(0) / 2 + vertices.reshape(-1, 3).max(0) / 2
        rise = float(self.rng.uniform(*EYE_HEIGHT)) - target[1]
        distance = float(np.linalg.norm(level.position - target))
        elevation = np.degrees(np.arcsin(np.clip(rise / distance, -1.0, 1.0)))
        elevation = float(np.clip(elevation, *ELEVATION))
        return frame_bodies(list(vertices), "front", self.image_size, margin, fov, elevation)

    def _floor_positions(self, specs: list[PersonSpec], vertices: np.ndarray) -> np.ndarray:
        """(N, 2) pelvis x, z: the given positions, else random ones on a patch of floor about
        as wide as the people side by side, with footprints (the bodies' x-z extents) at least
        FOOTPRINT_GAP apart. vertices: (N, V, 3) posed bodies, pelvis at the origin."""
        low, high = vertices[:, :, [0, 2]].min(axis=1), vertices[:, :, [0, 2]].max(axis=1)
        half_width = 0.5 * FLOOR_WIDTH * float((high - low)[:, 0].sum())
        positions = np.zeros((len(specs), 2), dtype=np.float32)
        placed: list[int] = []
        for i in self.rng.permutation(len(specs)):
            if specs[i].position is not None:
                positions[i] = specs[i].position
            elif placed:
                for _ in range(FLOOR_TRIES):
                    positions[i] = self.rng.uniform(
                        (-half_width, FLOOR_DEPTH[0]), (half_width, FLOOR_DEPTH[1])
                    )
                    if not self._overlaps(positions, low, high, i, placed):
                        break
                else:  # no free spot: stand beside everyone
                    positions[i, 0] = (
                        max(positions[j, 0] + high[j, 0] for j in placed)
                        - low[i, 0]
                        + FOOTPRINT_GAP
                    )
            placed.append(i)
        return positions

    @staticmethod
    def _overlaps(
        positions: np.ndarray, low: np.ndarray, high: np.ndarray, i: int, placed: list[int]
    ) -> bool:
        """Whether person i's footprint comes within FOOTPRINT_GAP of a placed one."""
        lo, hi = positions[placed] + low[placed], positions[placed] + high[placed]
        apart = (positions[i] + low[i] >= hi + FOOTPRINT_GAP) | (
            positions[i] + high[i] + FOOTPRINT_GAP <= lo
        )
        return bool((~apart.any(axis=1)).any())

    def _attributes(
        self,
        specs: list[PersonSpec],
        camera: Camera,
        backdrop: Backdrop,
        boxes: np.ndarray,
        distances: np.ndarray,
        transl: np.ndarray,
    ) -> list[dict]:
        centers = (boxes[:, 0] + boxes[:, 2]) / 2
        words = position_words(centers, distances, camera.width)
        near = _near_door(backdrop, transl)
        return [
            _attributes_of(
                spec.physique,
                spec.outfit,
                spec.family,
                spec.caption or self._caption(spec.pose),
                position,
                depth,
                near_door,
            )
            for spec, (position, depth), near_door in zip(specs, words, near, strict=True)
        ]

    def _absent(self, layout: _Layout, index: int) -> str | None:
        """A description of someone not in the scene whose pose is unlike everyone's there
        (`describe_absent`), or None if DECOY_TRIES draws found none."""
        rng = np.random.default_rng([self.seed, index, 1])
        for attempt in range(DECOY_TRIES):
            (pose,) = self._decoys.take(index, 1, attempt)
            physique, outfit = _look(rng)
            decoy = _attributes_of(physique, outfit, pose.family)
            poses = torch.stack(
                [*(s.pose for s in layout.specs), torch.as_tensor(pose.rotmat, dtype=torch.float32)]
            )
            families = [*(s.family for s in layout.specs), pose.family]
            similar = similar_poses(poses, families)[-1, :-1]
            text = describe_absent(layout.attributes, decoy, similar.tolist(), rng)
            if text is not None:
                return text
        return None

    def _render(self, layout: _Layout) -> Scene:
        camera = layout.camera
        shadows = [
            (float(t[0]), float(t[2]), 0.35 * float(np.ptp(v[:, [0, 2]], axis=0).max()) + 0.1)
            for t, v in zip(layout.transl, layout.vertices, strict=True)
        ]
        background = draw_backdrop(layout.backdrop, camera, shadows)
        meshes = [
            Mesh(v, self.faces, vertex_colors=s.outfit.vertex_colors(self.parts))
            for v, s in zip(layout.vertices, layout.specs, strict=True)
        ]
        result = rasterize(meshes, camera, background, self.antialias)
        people = []
        for i, spec in enumerate(layout.specs):
            world = layout.rotmat_world[i]
            rotmat = world.clone()
            rotmat[0] = torch.as_tensor(camera.rotation, dtype=torch.float32) @ world[0]
            people.append(
                Person(
                    rotmat=rotmat,
                    rotmat_world=world,
                    betas=torch.as_tensor(spec.physique.betas),
                    transl=torch.as_tensor(layout.transl[i]),
                    family=spec.family,
                    box=tuple(float(b) for b in layout.boxes[i]),
                    keypoints2d=_keypoints2d(
                        camera, layout.keypoints[i], i, result.depth, result.mesh_id
                    ),
                    descriptions=layout.descriptions[i],
                    attributes=layout.attributes[i],
                )
            )
        return Scene(result.image, people, camera)


def _look(rng: np.random.Generator) -> tuple[Physique, Outfit]:
    """A random physique and an outfit that suits it."""
    physique = sample_physique(rng)
    bald_chance = BALD_CHANCE if physique.noun == "man" else 0.0
    return physique, sample_outfit(rng, physique.age_group == "elderly", bald_chance)


def _attributes_of(
    physique: Physique,
    outfit: Outfit,
    family: str,
    caption: str | None = None,
    position: str | None = None,
    depth: str | None = None,
    near_door: bool = False,
) -> dict:
    """The attribute dict `posegpt.synth.referring` describes a person by."""
    p, o = physique, outfit
    return {
        "noun": p.noun,
        "gender": p.gender,
        "age_group": p.age_group,
        "height": p.height,
        "build": p.build,
        "hair": o.hair,
        "top": o.top,
        "top_garment": o.top_garment,
        "bottom": o.bottom,
        "bottom_garment": o.bottom_garment,
        "shoes": o.shoes,
        "position": position,
        "depth": depth,
        "near_door": near_door,
        "family": family,
        "behaviour": behaviour_phrase(family),
        "pose": caption,
    }


def _box(camera: Camera, vertices: np.ndarray) -> np.ndarray:
    """(4,) box of the projected vertices, clipped to the image."""
    uv, _ = camera.project(vertices)
    x0, y0 = np.nanmin(uv, axis=0)
    x1, y1 = np.nanmax(uv, axis=0)
    return np.array(
        [
            np.clip(x0, 0, camera.width),
            np.clip(y0, 0, camera.height),
            np.clip(x1, 0, camera.width),
            np.clip(y1, 0, camera.height),
        ]
    )


def _near_door(backdrop: Backdrop, transl: np.ndarray) -> list[bool]:
    """Whether each person is clearly the one nearest the door."""
    if backdrop.door_x is None:
        return [False] * len(transl)
    d = np.hypot(transl[:, 0] - backdrop.door_x, transl[:, 2] - backdrop.wall_z)
    return [
        bool(d[i] < NEAR_DOOR and np.all(np.delete(d, i) >= d[i] + NEAR_DOOR_GAP))
        for i in range(len(d))
    ]


def _occlusion(layout: _Layout) -> np.ndarray:
    """(N,) share of each person's silhouette covered by people nearer the camera (silhouettes:
    projected vertices on a grid of OCCLUSION_GRID cells a side)."""
    camera = layout.camera
    scale = OCCLUSION_GRID / max(camera.width, camera.height)
    masks = np.zeros((len(layout.vertices), OCCLUSION_GRID, OCCLUSION_GRID), dtype=bool)
    for mask, vertices in zip(masks, layout.vertices, strict=True):
        uv, _ = camera.project(vertices)
        cells = np.clip(np.nan_to_num(uv * scale), 0, OCCLUSION_GRID - 1).astype(int)
        mask[cells[:, 1], cells[:, 0]] = True
    shares = np.zeros(len(masks))
    for i, mask in enumerate(masks):
        nearer = masks[layout.distances < layout.distances[i]].any(axis=0)
        shares[i] = (mask & nearer).sum() / max(mask.sum(), 1)
    return shares


def _keypoints2d(
    camera: Camera, keypoints: np.ndarray, index: int, depth: np.ndarray, mesh_id: np.ndarray
) -> np.ndarray:
    """(17, 3) projected keypoints and visibility (in the image, on this person's surface, not
    behind another part of the body)."""
    uv, z = camera.project(keypoints)
    out = np.zeros((len(keypoints), 3), dtype=np.float32)
    out[:, :2] = uv
    col, row = np.floor(uv[:, 0]), np.floor(uv[:, 1])
    inside = (col >= 0) & (col < camera.width) & (row >= 0) & (row < camera.height)
    r, c = row[inside].astype(int), col[inside].astype(int)
    out[inside, 2] = (mesh_id[r, c] == index) & (depth[r, c] >= z[inside] - VISIBILITY_TOLERANCE)
    return out


def crop_box(
    box: tuple[float, float, float, float], margin: float = 0.2, keep: float = 1.0
) -> tuple[float, float, float, float]:
    """A square around `box`'s centre, its side the longer box side plus `margin` of it (the
    HMR-style crop: centre and scale = side / 200). With `keep` < 1, of the box's top `keep`
    part only (a person framed from the waist or the thighs up, legs out of the picture)."""
    if not 0.0 < keep <= 1.0:
        raise InvalidInputError(f"keep must be in (0, 1], got {keep}")
    x0, y0, x1, y1 = box
    y1 = y0 + keep * (y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0) * (1 + margin) / 2
    return cx - half, cy - half, cx + half, cy + half


def crop_person(
    scene: Scene, index: int, size: int = 224, margin: float = 0.2, keep: float = 1.0
) -> np.ndarray:
    """(size, size, 3) uint8 square crop around person `index` (see `crop_box`, also for
    `keep`); parts outside the image are black."""
    if not 0 <= index < len(scene.people):
        raise InvalidInputError(
            f"person index {index} out of range (the scene has {len(scene.people)})"
        )
    box = crop_box(scene.people[index].box, margin, keep)
    return np.asarray(crop_square(Image.fromarray(scene.image), box, size))
