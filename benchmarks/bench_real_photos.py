"""Real photos: limb PA-MPJPE of image -> pose methods against mocap ground truth.

Photos: the H36M frames of `mmpose_smpl/h36m/test_h36m.npz` (true SMPL poses, joints posed by
the same body model) and `photos3d/` (MPI-INF-3DHP and CMU Panoptic, mocap 3D joints in the
camera frame; joints with a Panoptic confidence under 0.1 left out). Each method reads the
square person crop. Limb PA-MPJPE: Procrustes (rotation, translation, scale) on the 12 limb
joints both skeletons share (shoulders, elbows, wrists, hips, knees, ankles), error on them.
"spread": mean limb PA-MPJPE between the answers to different photos (0: the same answer to
every photo). "x fit": the mean against the BlazePose fit's; "all - fit": the mean of the
per-photo differences to the fit with its 95% bootstrap interval over the photos (it does not
hold the spread between training runs of one recipe, which is as large: BENCHMARKS.md).
Methods: the mean training crop pose, the crop regressor (trained here on the dataset's crops,
as in `posegpt bench`), the BlazePose fit, BlazePose's own world landmarks (not an SMPL pose: a
reference), and posegpt models (`--model`, "default" or a folder), each as the model answers
and, with a pose tower, refined to the landmarks as chat does (`--refine`: which ways) and
declining as chat does (`posegpt.chat_defaults.DECLINE_UNMATCHED`; a declined photo scores the
T-pose).

python benchmarks/bench_real_photos.py --data /work/data/synth --model default
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import bootstrap

from posegpt.body import load_body_model
from posegpt.chat_defaults import DECLINE_UNMATCHED, AnswerOptions
from posegpt.data.dataset import CROP_KEY
from posegpt.data.formats import read_hmr
from posegpt.data.images import crop_square, open_image
from posegpt.eval.baselines import CropRegressor, MeanPose
from posegpt.eval.baselines.landmark_fit import LandmarkFit
from posegpt.eval.bench import REFINED_ROWS
from posegpt.eval.bench_data import load_real_hmr
from posegpt.eval.chat_method import PoseGPTMethod
from posegpt.eval.items import ImageSet, LazyImages, TrainData
from posegpt.eval.metrics import pa_mpjpe
from posegpt.model import load_chat_model
from posegpt.model.pose_tower.detector import BUNDLES, DEFAULT_BUNDLE, PoseDetector
from posegpt.model.pose_tower.fit import REFINE_MODES, check_refine_mode
from posegpt.model.pose_tower.landmarks import LIMB_JOINTS, LIMB_LANDMARKS, LIMB_NAMES

REAL = Path(__file__).resolve().parents[1].parent / "shared/data/real"
PANOPTIC_NAMES = {"l_": "left_", "r_": "right_"}
MIN_CONFIDENCE = 0.1


def photos(real: Path, body) -> list[tuple[str, object, torch.Tensor, torch.Tensor]]:
    """(name, crop, true limb joints (12, 3), mask (12,)) of every real photo."""
    out = []
    h36m = real / "mmpose_smpl/h36m/test_h36m.npz"
    items = load_real_hmr(h36m, h36m.parent)
    joints = body(items.poses).joints[:, list(LIMB_JOINTS)]
    for i in range(len(items)):
        out.append(
            (f"h36m/{i}", items.images[i], joints[i], torch.ones(len(LIMB_NAMES), dtype=bool))
        )
    for folder in sorted((real / "photos3d").iterdir()):
        if not (folder / "index.json").is_file():
            continue
        for item in json.loads((folder / "index.json").read_text())["items"]:
            names = [n for n in item["joint_names"]]
            for short, long in PANOPTIC_NAMES.items():
                names = [long + n[2:] if n.startswith(short) else n for n in names]
            xyz = torch.tensor(item["joints3d_cam"], dtype=torch.float32)
            conf = torch.tensor(item.get("joints3d_confidence", [1.0] * len(names)))
            rows = [names.index(n) for n in LIMB_NAMES]
            crop = crop_square(open_image(folder / item["image"]), tuple(item["bbox_xyxy"]))
            out.append(
                (f"{folder.name}/{item['image']}", crop, xyz[rows], conf[rows] >= MIN_CONFIDENCE)
            )
    return out


def crops(root: Path, split: str) -> ImageSet:
    """The person crops of a synthetic dataset's split, with their poses."""
    hmr = read_hmr(root / "image2pose" / f"{split}.npz")
    names = hmr.extras[CROP_KEY]
    loaders = [lambda n=str(n): open_image(root / "images" / n) for n in names]
    return ImageSet(LazyImages(loaders), hmr.pose)


def limb_error(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> float:
    """Limb PA-MPJPE (mm) of (12, 3) joints on the joints in `mask`."""
    return float(pa_mpjpe(pred[mask][None], truth[mask][None])[0])


def paired_interval(differences: torch.Tensor) -> tuple[float, float]:
    """95% percentile bootstrap interval (scipy; 10,000 resamples of the photos, seeded) of the
    mean of per-photo differences: how far the mean could move with other photos of the kind."""
    interval = bootstrap(
        (differences.numpy(),), np.mean, n_resamples=10_000, method="percentile", random_state=0
    ).confidence_interval
    return float(interval.low), float(interval.high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="dataset whose train crops the baselines learn from",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="a packaged model (default, small) or a model folder",
    )
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument(
        "--no-crop-regressor", action="store_true", help="skip training the crop regressor"
    )
    parser.add_argument(
        "--refine",
        default="fit",
        help="comma-separated refinements of a pose-tower model's answers, each a row "
        f"({', '.join(REFINE_MODES)})",
    )
    parser.add_argument(
        "--bundle",
        choices=BUNDLES,
        default=DEFAULT_BUNDLE,
        help="BlazePose variant of the fit and the world-landmark rows (the models read their own)",
    )
    args = parser.parse_args()
    body = load_body_model()
    train = TrainData(crops=crops(args.data, "train"), crops_val=crops(args.data, "val"))
    methods = [
        MeanPose(),
        *([] if args.no_crop_regressor else [CropRegressor()]),
        LandmarkFit(body, bundle=args.bundle),
    ]
    for method in methods:
        method.fit(train, progress=False)
    for name in args.model:
        model = load_chat_model(name)
        methods.append(PoseGPTMethod(model, f"posegpt {name}"))
        for mode in args.refine.split(",") if model.pose_tower is not None else []:
            row = f"posegpt {name}, {REFINED_ROWS[check_refine_mode(mode)]}"
            options = AnswerOptions(refine=mode, decline_unmatched=DECLINE_UNMATCHED)
            methods.append(PoseGPTMethod(model, row, body=body, options=options))
    items = photos(args.real, body)
    detector = PoseDetector(args.bundle)
    print(f"{len(items)} photos: " + ", ".join(n for n, *_ in items))
    print(
        "| method | limb PA-MPJPE H36M (mm) | photos3d (mm) | all (mm) | x fit | all - fit, "
        "95% interval (mm) | spread (mm) | ms/photo |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = [(m.name, m) for m in methods] + [("BlazePose world landmarks (reference)", None)]
    fit_errors: torch.Tensor | None = None
    for name, method in rows:
        start = time.perf_counter()
        if method is None:
            found = [detector.detect(crop) for _, crop, *_ in items]
            preds = torch.stack([torch.from_numpy(p[0].world[list(LIMB_LANDMARKS)]) for p in found])
        else:
            poses = torch.cat([method.predict_image([crop]) for _, crop, *_ in items])
            with torch.no_grad():
                preds = body(poses).joints[:, list(LIMB_JOINTS)]
        ms = (time.perf_counter() - start) / len(items) * 1000
        errors = [limb_error(p, t, m) for p, (_, _, t, m) in zip(preds, items, strict=True)]
        h36m = [e for e, (n, *_) in zip(errors, items, strict=True) if n.startswith("h36m")]
        other = errors[len(h36m) :]
        pairs = [(i, j) for i in range(len(preds)) for j in range(i + 1, len(preds))]
        spread = sum(float(pa_mpjpe(preds[i][None], preds[j][None])[0]) for i, j in pairs) / len(
            pairs
        )
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        if isinstance(method, LandmarkFit):
            fit_errors = torch.tensor(errors)
        versus = ["–", "–"]
        if fit_errors is not None and not isinstance(method, LandmarkFit):
            difference = torch.tensor(errors) - fit_errors
            low, high = paired_interval(difference)
            ratio = mean(errors) / float(fit_errors.mean())
            versus = [f"{ratio:.2f}", f"{float(difference.mean()):+.1f} [{low:+.1f}, {high:+.1f}]"]
        cells = [f"{c:.1f}" for c in (mean(h36m), mean(other), mean(errors))]
        cells += versus + [f"{spread:.1f}", f"{ms:.1f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
        print("  per photo: " + " ".join(f"{e:.0f}" for e in errors))


if __name__ == "__main__":
    main()
