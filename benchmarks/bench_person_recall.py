"""Person recall of the BlazePose detector: synthetic scenes and real group photos.

A true person counts as found when a detection's COCO-17 keypoints match theirs with object
keypoint similarity (OKS, COCO's sigmas; area = the true keypoints' box) of at least 0.5,
one detection per person (greedy, best OKS first). Compares the whole picture alone with the
whole picture plus overlapping strips (`PoseDetector(regions=True)`).

python benchmarks/bench_person_recall.py --synth /work/data/synth --split test \
    --coco ../shared/data/real/mmpose_smpl/coco --bundle heavy
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from posegpt.data.formats import read_hmr
from posegpt.data.images import open_image
from posegpt.model.pose_tower.detector import BUNDLES, DEFAULT_BUNDLE, PoseDetector
from posegpt.model.pose_tower.landmarks import COCO17_LANDMARKS, MATCH_OKS, oks


def matched(people: list, truths: list[np.ndarray], size: tuple[int, int]) -> int:
    """How many true people (COCO-17, pixels) a detection matches, one detection each."""
    scale = np.array(size, dtype=np.float32)
    found = [p.landmarks[list(COCO17_LANDMARKS), :2] * scale for p in people]
    pairs = sorted(
        ((oks(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truths)),
        reverse=True,
    )
    used_f, used_t = set(), set()
    for score, i, j in pairs:
        if score >= MATCH_OKS and i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_t)


def synthetic(root: Path, split: str) -> list[tuple[Path, list[np.ndarray]]]:
    """(scene picture, true people's COCO-17) of a synthetic split."""
    hmr = read_hmr(root / "image2pose" / f"{split}.npz")
    scenes: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, keypoints in zip(hmr.imgname, hmr.coco17(), strict=True):
        scenes[str(name)].append(keypoints)
    return [(root / "images" / name, people) for name, people in sorted(scenes.items())]


def coco(root: Path) -> list[tuple[Path, list[np.ndarray]]]:
    """(photo, true people's COCO-17) of a COCO keypoints json (people with keypoints)."""
    data = json.loads((root / "test_coco.json").read_text())
    people: dict[int, list[np.ndarray]] = defaultdict(list)
    for a in data["annotations"]:
        if a["num_keypoints"] > 0:
            people[a["image_id"]].append(np.array(a["keypoints"], np.float32).reshape(17, 3))
    return [(root / im["file_name"], people[im["id"]]) for im in data["images"]]


def measure(name: str, items: list[tuple[Path, list[np.ndarray]]], bundle: str) -> None:
    for regions in (False, True):
        detector = PoseDetector(bundle, regions=regions)
        truth = found = detections = 0
        start = time.perf_counter()
        for path, people in items:
            picture = open_image(path)
            detected = detector.detect(picture)
            size = picture.size
            truth += len(people)
            found += matched(detected, people, size)
            detections += len(detected)
        ms = (time.perf_counter() - start) / len(items) * 1000
        print(
            f"| {name} | {bundle}, {'whole + strips' if regions else 'whole picture'} | "
            f"{len(items)} | "
            f"{truth} | {found / truth:.3f} ({found}) | {found / max(detections, 1):.3f} "
            f"({detections} found) | {ms:.0f} |"
        )
        detector.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, help="a posegpt synthetic dataset")
    parser.add_argument("--split", default="test")
    parser.add_argument("--coco", type=Path, help="a folder with test_coco.json and its photos")
    parser.add_argument(
        "--bundle", choices=BUNDLES, default=DEFAULT_BUNDLE, help="the BlazePose variant"
    )
    args = parser.parse_args()
    print("| pictures | detector | n | people | recall | precision | ms/picture |")
    print("|---|---|---|---|---|---|---|")
    if args.synth:
        measure(f"synthetic {args.split}", synthetic(args.synth, args.split), args.bundle)
    if args.coco:
        measure("COCO photos", coco(args.coco), args.bundle)


if __name__ == "__main__":
    main()
