"""`synthesize`: write a synthetic dataset folder in the real layouts (see `posegpt.data.dataset`).

  text2pose/      generated poses (facing +z) with captioner texts, PoseScript layout: one
                  caption per pose in `posescript_human_6293.json` (the first, used for val/test),
                  the others in `posescript_auto_100k.json`
  images/scenes/  rendered scenes of 1-4 people, `<split>/<scene>.png`
  images/crops/   a square crop per person, `<split>/<scene>_<person>.png`
  image2pose/     HMR npz per split, one row per person: the full scene as `imgname`, the crop as
                  `crop_imgname`, the five descriptions as `description_<kind>` (RPE), plus
                  `scene_id`, `person_index`, `num_people`, `family`, and on each scene's
                  first row `absent_description`: someone not in the picture
  speculative/    SPG conversations, LLaVA json + poses per SPG split (train, val, test,
                  test_seen: held-out situations and wordings, `posegpt.synth.speculative`)
  instructions/   instruction conversations, LLaVA json (+ poses for follow-ups and everyday
                  requests) per split; with the everyday kinds of `posegpt.synth.everyday`
  pose_input/     conversations that read poses (describe, edit, compare, follow-up chains,
                  corrections; `posegpt.synth.pose_tasks`) from the text poses of each split,
                  LLaVA json + poses + input poses
  card.json, README.md  counts per task / split / family, seed, command, time, speed, disk use

Everything is drawn from streams keyed by the seed: the same seed writes the same dataset. The
seed also holds items, situations, templates and phrasings out for val and test; another draw
(`draw`) keeps those splits and draws everything else anew. Each caption, scene, situation,
instruction and pose_input conversation has a stream of its own (seed, part, number), so a
change to the words or poses of some families changes only the items that drew them.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from posegpt.body import BodyModel, load_body_model
from posegpt.body.posecodes import facts, posecodes, posecodes_batch
from posegpt.data.dataset import (
    ABSENT_KEY,
    CARD_FILE,
    CROP_KEEP_KEY,
    CROP_KEY,
    DESCRIPTION_PREFIX,
    IMAGE2POSE_DIR,
    IMAGES_DIR,
    INSTRUCTIONS_DIR,
    POSE_INPUT_DIR,
    README_FILE,
    SPECULATIVE_DIR,
    TEXT2POSE_DIR,
)
from posegpt.data.formats import (
    HmrData,
    coco17_to_hmr24,
    read_posescript,
    write_hmr,
    write_json,
    write_llava,
    write_posescript,
)
from posegpt.data.sampler import apportion
from posegpt.data.splits import SPLITS, split_items, stream
from posegpt.errors import InvalidInputError
from posegpt.files import atomic_write_text
from posegpt.records import Conversation
from posegpt.render.views import save_png
from posegpt.synth.captioner import PoseCaptioner, caption_with_claims
from posegpt.synth.everyday import EVERYDAY_MIX, everyday_makers
from posegpt.synth.instructions import (
    behaviour_conversation,
    chat_conversation,
    count_conversation,
    describe_conversation,
    facts_conversation,
    follow_up_conversation,
)
from posegpt.synth.pose_tasks import PoseTaskSource, pose_task_conversations
from posegpt.synth.poses import PoseGenerator
from posegpt.synth.speculative import SPG_SPLITS, speculative_conversation, spg_split

FORMAT, VERSION = "posegpt-dataset", 1
#: Most items of one kind that one run may write.
MAX_ITEMS = 10_000_000
#: Share of instruction conversations per kind (image kinds need scenes, follow-ups and
#: everyday requests text poses).
INSTRUCTION_MIX = {
    "facts": 0.25,
    "describe": 0.2,
    "behaviour": 0.15,
    "count": 0.1,
    "follow_up": 0.15,
    "chat": 0.15,
    **EVERYDAY_MIX,
}
#: Folders a run writes; --overwrite clears these (and nothing else).
OUTPUTS = (
    TEXT2POSE_DIR,
    IMAGE2POSE_DIR,
    IMAGES_DIR,
    SPECULATIVE_DIR,
    INSTRUCTIONS_DIR,
    POSE_INPUT_DIR,
)
CROP_MARGIN = 0.2
#: Share of a person's box height that a partial crop keeps (from the top), drawn uniformly.
PARTIAL_KEEP = (0.4, 0.8)
#: Poses captioned together (one body forward).
CAPTION_BATCH = 64


@dataclass
class SynthConfig:
    """What to write. Sizes are totals over the splits."""

    out: Path
    seed: int = 0
    draw: int = 0
    text_poses: int = 1000
    captions_per_pose: int = 3
    scenes: int = 200
    image_size: int = 224
    crop_size: int = 224
    partial_crops: float = 0.2
    wild_poses: float = 0.0
    spg: int = 500
    instructions: int = 500
    pose_tasks: int = 500
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    overwrite: bool = False
    command: str = ""

    def check(self) -> None:
        for name in ("text_poses", "scenes", "spg", "instructions", "pose_tasks"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_ITEMS:
                raise InvalidInputError(f"{name} must be 0..{MAX_ITEMS}, got {value}")
        for name in ("partial_crops", "wild_poses"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"{name} must be 0..1, got {getattr(self, name)}")
        if self.draw < 0:
            raise InvalidInputError(f"draw must be >= 0, got {self.draw}")
        if not 1 <= self.captions_per_pose <= 20:
            raise InvalidInputError(
                f"captions_per_pose must be 1..20, got {self.captions_per_pose}"
            )
        v, t = self.val_fraction, self.test_fraction
        if v <= 0 or t <= 0 or v + t >= 0.9:
            raise InvalidInputError(
                f"val and test fractions must be > 0 and sum below 0.9, got {v} and {t}"
            )

    @cached_property
    def content_seed(self) -> int:
        """The seed of what is drawn (poses, pictures, wordings). The splits (which items,
        situations, templates and phrasings are held out) always follow `seed`: another draw
        under the same seed writes new data that leaks none of that seed's held-out sets."""
        return self.seed if self.draw == 0 else derived_seed(self.seed, f"draw/{self.draw}")

    @property
    def fractions(self) -> dict[str, float]:
        v, t = self.val_fraction, self.test_fraction
        return {"train": 1.0 - v - t, "val": v, "test": t}


@dataclass
class _Text:
    """The written text poses: samples, first captions and the split of each (by id)."""

    samples: list
    human: dict[int, str]
    split_of: list[str]

    def ids(self, split: str) -> list[int]:
        return [i for i, s in enumerate(self.split_of) if s == split]


@dataclass
class _Scenes:
    """Per split: the written people (HMR rows) and what instruction data need of them."""

    people: dict[str, list[dict]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    scenes: dict[str, list[dict]] = field(default_factory=lambda: {s: [] for s in SPLITS})


def synthesize(cfg: SynthConfig, progress: bool = True) -> dict:
    """Write the dataset described by `cfg`; returns the dataset card (also in card.json)."""
    cfg.check()
    out = Path(cfg.out)
    _prepare(out, cfg.overwrite)
    started = time.perf_counter()
    body = load_body_model()
    captioner = PoseCaptioner(body)
    card: dict = {"format": FORMAT, "version": VERSION, "seed": cfg.seed, "command": cfg.command}
    card["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    card["config"] = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    counts: dict[str, dict[str, int]] = {}
    families: dict[str, Counter] = {}
    speed: dict[str, float] = {}

    tick = time.perf_counter()
    text = _write_text(out, cfg, body, captioner, progress)
    speed["text_pairs_per_s"] = _rate(cfg.text_poses, tick)
    counts["text2pose"] = {s: len(text.ids(s)) for s in SPLITS}
    families["text2pose"] = Counter(s.family for s in text.samples)

    tick = time.perf_counter()
    scenes = _write_scenes(out, cfg, body, captioner, progress)
    speed["scenes_per_s"] = _rate(cfg.scenes, tick)
    counts["image2pose"] = {s: len(p) for s, p in scenes.people.items()}
    counts["rpe"] = {s: _rpe_items(p) for s, p in scenes.people.items()}
    counts["scenes"] = {s: len(v) for s, v in scenes.scenes.items()}
    families["image2pose"] = Counter(p["family"] for ps in scenes.people.values() for p in ps)

    spg = _write_speculative(out, cfg, body, progress)
    counts["speculative"] = {s: len(c) for s, c in spg.items()}
    families["speculative"] = Counter(c.meta["family"] for cs in spg.values() for c in cs)

    instructions = _write_instructions(out, cfg, text, scenes, progress)
    counts["instruction"] = {s: len(c) for s, c in instructions.items()}
    card["instruction_kinds"] = {
        s: dict(Counter(c.meta["kind"] for c in cs)) for s, cs in instructions.items()
    }

    tick = time.perf_counter()
    pose_tasks = _write_pose_tasks(out, cfg, text, body, progress)
    speed["pose_tasks_per_s"] = _rate(cfg.pose_tasks, tick)
    counts["pose_input"] = {s: len(c) for s, c in pose_tasks.items()}
    card["pose_input_kinds"] = {
        s: dict(Counter(c.meta["kind"] for c in cs)) for s, cs in pose_tasks.items()
    }

    card["counts"] = counts
    card["families"] = {task: dict(sorted(c.items())) for task, c in families.items()}
    card["spg_splits"] = {
        name: {"situations": [s.name for s in sp.situations], "templates": len(sp.templates)}
        for name, sp in spg_split(cfg.seed).items()
    }
    card["seconds"] = round(time.perf_counter() - started, 2)
    card["speed"] = speed
    disk = {name: _disk(out / name) for name in OUTPUTS}
    card["disk_bytes"] = disk
    card["disk_bytes_per_1k"] = {
        "text_poses": round(disk[TEXT2POSE_DIR] * 1000 / max(cfg.text_poses, 1)),
        "scenes": round((disk[IMAGES_DIR] + disk[IMAGE2POSE_DIR]) * 1000 / max(cfg.scenes, 1)),
    }
    write_json(out / CARD_FILE, card)
    atomic_write_text(out / README_FILE, dataset_readme(card))
    return card


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise InvalidInputError(f"{out} is not empty; pass --overwrite to replace its dataset")
        for name in OUTPUTS:
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (CARD_FILE, README_FILE):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def derived_seed(seed: int, salt: str) -> int:
    """An independent seed for one part of the dataset (no two parts share poses)."""
    return int(stream(seed, salt).integers(2**31))


def _rate(n: int, since: float) -> float:
    return round(n / max(time.perf_counter() - since, 1e-9), 2)


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _rpe_items(people: list[dict]) -> int:
    """RPE items: one per person and description kind, one per scene about someone absent."""
    kinds = len(people[0]["descriptions"]) if people else 0
    return len(people) * kinds + sum(bool(p["absent"]) for p in people)


def _split_of(n: int, cfg: SynthConfig, salt: str) -> list[str]:
    """The split of each of `n` items (all "train" when too few to split)."""
    if n < len(SPLITS):
        return ["train"] * n
    out = [""] * n
    for split, items in split_items(range(n), cfg.seed, salt, cfg.fractions).items():
        for i in items:
            out[i] = split
    return out


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="item", disable=not progress or total == 0)


# -- text2pose ------------------------------------------------------------------------------


def _write_text(out: Path, cfg: SynthConfig, body: BodyModel, captioner, progress: bool) -> _Text:
    seed = derived_seed(cfg.content_seed, "text2pose")
    generator = PoseGenerator(seed=seed, random_yaw=False, body=body)
    samples = generator.sample_many(cfg.text_poses, progress=progress)
    human, auto = {}, {}
    with _bar(len(samples), "captions", progress) as bar:
        for start in range(0, len(samples), CAPTION_BATCH):
            chunk = torch.stack([s.rotmat for s in samples[start : start + CAPTION_BATCH]])
            rngs = [
                stream(cfg.content_seed, f"text2pose/captions/{start + i}")
                for i in range(len(chunk))
            ]
            for i, texts in enumerate(captioner.captions(chunk, cfg.captions_per_pose, rngs)):
                human[start + i], auto[start + i] = texts[0], list(texts[1:])
            bar.update(len(chunk))
    text = _Text(samples, human, _split_of(len(samples), cfg, "text2pose/ids"))
    if samples:
        poses = torch.stack([s.rotmat for s in samples])
        splits = {s: text.ids(s) for s in SPLITS}
        write_posescript(out / TEXT2POSE_DIR, poses, human, auto, splits)
    return text


# -- scenes: image2pose and RPE -------------------------------------------------------------


def _write_scenes(
    out: Path, cfg: SynthConfig, body: BodyModel, captioner, progress: bool
) -> _Scenes:
    from posegpt.synth.scenes import SceneGenerator, crop_box, crop_person

    result = _Scenes()
    if cfg.scenes == 0:
        return result
    seed = derived_seed(cfg.content_seed, "scenes")
    poses = PoseGenerator(seed=seed, random_yaw=False, body=body, wild_share=cfg.wild_poses)
    generator = SceneGenerator(seed, cfg.image_size, body, poses, captioner)
    split_of = _split_of(cfg.scenes, cfg, "scenes")
    for i in tqdm(range(cfg.scenes), desc="scenes", unit="scene", disable=not progress):
        split = split_of[i]
        scene = generator.sample()
        rng = stream(cfg.content_seed, f"scenes/captions/{i}")
        framing = stream(cfg.content_seed, f"scenes/framing/{i}")  # its own stream: the rest stays
        name = f"{IMAGES_DIR}/scenes/{split}/{i:06d}.png"
        save_png(out / name, scene.image)
        rel_scene = name.removeprefix(f"{IMAGES_DIR}/")
        result.scenes[split].append({"image": rel_scene, "people": len(scene.people)})
        with torch.no_grad():
            posed = body(
                torch.stack([p.rotmat_world for p in scene.people]),
                torch.stack([p.betas for p in scene.people]),
            )
        codes = posecodes_batch(posed.joints, posed.keypoints3d[:, 0])
        for j, person in enumerate(scene.people):
            crop = f"crops/{split}/{i:06d}_{j}.png"
            partial = framing.random() < cfg.partial_crops
            share = framing.uniform(*PARTIAL_KEEP)  # drawn for every person: one draw pattern
            keep = share if partial else 1.0
            image = crop_person(scene, j, cfg.crop_size, CROP_MARGIN, keep)
            save_png(out / IMAGES_DIR / crop, image)
            x0, y0, x1, y1 = crop_box(person.box, CROP_MARGIN, keep)
            result.people[split].append(
                {
                    "scene": rel_scene,
                    "crop": crop,
                    "keep": keep,
                    "scene_id": i,
                    "person_index": j,
                    "num_people": len(scene.people),
                    "center": ((x0 + x1) / 2, (y0 + y1) / 2),
                    "scale": (x1 - x0) / 200.0,
                    "rotmat": person.rotmat,
                    "betas": person.betas,
                    "keypoints": person.keypoints2d,
                    "family": person.family,
                    "descriptions": dict(person.descriptions),
                    "absent": (scene.absent or "") if j == 0 else "",
                    "behaviour": person.attributes["behaviour"],
                    "caption": caption_with_claims(codes[j], "long", rng).text,
                    "facts": facts(codes[j]),
                }
            )
    for split, people in result.people.items():
        if people:
            write_hmr(out / IMAGE2POSE_DIR / f"{split}.npz", _hmr(people))
    return result


def _hmr(people: list[dict]) -> HmrData:
    n = len(people)
    shape = np.zeros((n, 10), dtype=np.float32)
    shape[:, :6] = np.stack([np.asarray(p["betas"], dtype=np.float32) for p in people])
    kinds = sorted(people[0]["descriptions"])
    extras = {
        CROP_KEY: np.array([p["crop"] for p in people]),
        CROP_KEEP_KEY: np.array([p["keep"] for p in people], dtype=np.float32),
        "scene_id": np.array([p["scene_id"] for p in people], dtype=np.int64),
        "person_index": np.array([p["person_index"] for p in people], dtype=np.int64),
        "num_people": np.array([p["num_people"] for p in people], dtype=np.int64),
        "family": np.array([p["family"] for p in people]),
        **{DESCRIPTION_PREFIX + k: np.array([p["descriptions"][k] for p in people]) for k in kinds},
        ABSENT_KEY: np.array([p["absent"] for p in people]),
    }
    return HmrData(
        imgname=np.array([p["scene"] for p in people]),
        center=np.array([p["center"] for p in people], dtype=np.float32),
        scale=np.array([p["scale"] for p in people], dtype=np.float32),
        pose=torch.stack([p["rotmat"] for p in people]),
        shape=shape,
        part=coco17_to_hmr24(np.stack([p["keypoints"] for p in people])),
        body_model="anny",
        extras=extras,
    )


# -- speculative pose generation ------------------------------------------------------------


def _write_speculative(
    out: Path, cfg: SynthConfig, body: BodyModel, progress: bool
) -> dict[str, list[Conversation]]:
    splits = spg_split(cfg.seed)
    shares = {**cfg.fractions, "test_seen": cfg.test_fraction}
    sizes = _shares(cfg.spg, shares)
    seed = derived_seed(cfg.content_seed, "spg")
    generator = PoseGenerator(seed=seed, random_yaw=False, body=body)
    written: dict[str, list[Conversation]] = {}
    with _bar(cfg.spg, "speculative", progress) as bar:
        for name in SPG_SPLITS:
            split = splits[name]
            rngs = [stream(cfg.content_seed, f"spg/{name}/{k}") for k in range(sizes[name])]
            picks = []
            for rng in rngs:
                situation = split.situations[int(rng.integers(len(split.situations)))]
                picks.append(
                    (situation, situation.families[int(rng.integers(len(situation.families)))])
                )
            samples = _by_family(generator, [family for _, family in picks])
            conversations = []
            for (situation, family), sample, rng in zip(picks, samples, rngs, strict=True):
                meta = {"family": family}
                conversations.append(
                    speculative_conversation(
                        situation, sample.params["description"], sample.rotmat, rng, split, meta
                    )
                )
                bar.update(1)
            write_llava(out / SPECULATIVE_DIR / f"{name}.json", conversations, f"spg-{name}-")
            written[name] = conversations
    return written


def _shares(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` split by `shares` (normalised), the parts summing to `total`."""
    norm = sum(shares.values())
    return apportion(total, {k: v / norm for k, v in shares.items()}, {})


def _by_family(generator: PoseGenerator, families: list[str]) -> list:
    """One pose per entry of `families`, in shared batches whatever the families."""
    return generator.sample_many(len(families), families=families)


# -- instructions ---------------------------------------------------------------------------


def _write_instructions(
    out: Path, cfg: SynthConfig, text: _Text, scenes: _Scenes, progress: bool
) -> dict[str, list[Conversation]]:
    sizes = _shares(cfg.instructions, cfg.fractions)
    written = {}
    with _bar(cfg.instructions, "instructions", progress) as bar:
        for split in SPLITS:
            makers = _instruction_makers(cfg, text, scenes, split)
            kinds = list(makers)
            weights = np.array([INSTRUCTION_MIX[k] for k in kinds])
            conversations = []
            for k in range(sizes[split]):
                rng = stream(cfg.content_seed, f"instructions/{split}/{k}")
                kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
                conversations.append(makers[kind](rng))
                bar.update(1)
            write_llava(out / INSTRUCTIONS_DIR / f"{split}.json", conversations, f"inst-{split}-")
            written[split] = conversations
    return written


def _instruction_makers(
    cfg: SynthConfig, text: _Text, scenes: _Scenes, split: str
) -> dict[str, Callable[[np.random.Generator], Conversation]]:
    """The instruction kinds this split has data for, each a function of the random stream."""
    seed = cfg.seed
    makers: dict[str, Callable[[np.random.Generator], Conversation]] = {
        "chat": lambda rng: chat_conversation(rng, split, seed)
    }
    people, images = scenes.people[split], scenes.scenes[split]
    poses = text.ids(split)

    def one(items: list, rng: np.random.Generator):
        return items[int(rng.integers(len(items)))]

    if people:

        def about_pose(rng):
            p = one(people, rng)
            return facts_conversation(
                p["crop"], p["facts"], rng, split, seed, {"family": p["family"]}
            )

        def describe(rng):
            p = one(people, rng)
            return describe_conversation(
                p["crop"], p["caption"], rng, split, seed, meta={"family": p["family"]}
            )

        def behaviour(rng):
            p = one(people, rng)
            target = p["descriptions"]["outfit"]
            return behaviour_conversation(
                p["scene"], target, p["behaviour"], rng, split, seed, {"family": p["family"]}
            )

        makers.update(facts=about_pose, describe=describe, behaviour=behaviour)
    if images:

        def count(rng):
            scene = one(images, rng)
            return count_conversation(scene["image"], scene["people"], rng, split, seed)

        makers["count"] = count
    if poses:

        def follow_up(rng):
            i = one(poses, rng)
            sample = text.samples[i]
            pose_facts = facts(posecodes(sample.joints))
            meta = {"family": sample.family}
            return follow_up_conversation(
                text.human[i], sample.rotmat, pose_facts, rng, split, seed, meta
            )

        makers["follow_up"] = follow_up
    makers.update(everyday_makers(text.samples, text.human, poses))
    return makers


# -- pose input -----------------------------------------------------------------------------


def _write_pose_tasks(
    out: Path, cfg: SynthConfig, text: _Text, body: BodyModel, progress: bool
) -> dict[str, list[Conversation]]:
    families = {i: sample.family for i, sample in enumerate(text.samples)}
    return write_pose_tasks(
        out, cfg.pose_tasks, cfg.seed, body, families, progress, cfg.content_seed
    )


def write_pose_tasks(
    root: Path,
    n: int,
    seed: int = 0,
    body: BodyModel | None = None,
    families: dict[int, str] | None = None,
    progress: bool = True,
    content_seed: int | None = None,
) -> dict[str, list[Conversation]]:
    """Write `n` conversations that read poses into `root/pose_input/`, made from the text
    poses and captions of each split of the dataset's `text2pose/` (split sizes in the same
    proportions); `families` names each pose id's family where known. Also adds them to an
    existing dataset (`posegpt data pose-tasks`). `seed` holds templates out; `content_seed`
    (default `seed`) draws the rest, as `SynthConfig.content_seed`."""
    draws = seed if content_seed is None else content_seed
    if not 0 <= n <= MAX_ITEMS:
        raise InvalidInputError(f"the number of pose tasks must be 0..{MAX_ITEMS}, got {n}")
    body = body or load_body_model()
    text = read_posescript(root / TEXT2POSE_DIR) if n else None
    counts = {s: len(text.splits.get(s, [])) if text else 0 for s in SPLITS}
    sizes = _shares(n, counts) if sum(counts.values()) else dict.fromkeys(SPLITS, 0)
    written = {}
    with _bar(n, "pose tasks", progress) as bar:
        for split in SPLITS:
            conversations: list[Conversation] = []
            if sizes[split]:
                ids = text.splits[split]
                source = PoseTaskSource(
                    torch.stack([text.pose(i) for i in ids]),
                    [text.texts(i) for i in ids],
                    [(families or {}).get(i, "unknown") for i in ids],
                    PoseGenerator(
                        derived_seed(draws, f"pose_input/{split}"), random_yaw=False, body=body
                    ),
                    body,
                )
                conversations = pose_task_conversations(source, sizes[split], split, seed, draws)
            write_llava(root / POSE_INPUT_DIR / f"{split}.json", conversations, f"pose-{split}-")
            written[split] = conversations
            bar.update(sizes[split])
    return written


# -- the card -------------------------------------------------------------------------------


def dataset_readme(card: dict) -> str:
    """The dataset card in words (README.md)."""
    lines = [
        "# posegpt synthetic dataset",
        "",
        f"Written {card['created']} by `{card['command'] or 'posegpt data synth'}` "
        f"(seed {card['seed']}) in {card['seconds']} s.",
        "",
        "| task | " + " | ".join(SPG_SPLITS) + " |",
        "|---|" + "---|" * len(SPG_SPLITS),
    ]
    for task, by_split in card["counts"].items():
        lines.append(
            f"| {task} | " + " | ".join(str(by_split.get(s, "")) for s in SPG_SPLITS) + " |"
        )
    lines += ["", "Pose families per task:", ""]
    for task, fams in card["families"].items():
        listed = ", ".join(f"{f} {n}" for f, n in fams.items()) or "none"
        lines.append(f"- {task}: {listed}")
    lines += [
        "",
        "Layouts: text2pose/ PoseScript (AMASS npz under text2pose/amass), image2pose/ HMR npz",
        "per split (images under images/), speculative/ and instructions/ LLaVA json with",
        "posegpt's `poses` extension. See `posegpt.synth.engine` and `posegpt.data.formats`.",
        "",
        "```json",
        json.dumps({k: card[k] for k in ("speed", "disk_bytes", "disk_bytes_per_1k")}, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
