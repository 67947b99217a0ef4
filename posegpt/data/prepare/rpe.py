"""RPE, reasoning-based pose estimation on 3DPW (ChatPose, CVPR 2024; refined annotations of
Lee et al. 2025) -> image2pose/rpe/test.npz, one row per person, one description per kind.

Input, as released (`RPE-refined/`): `refine_vqa_{behavior,outfits,pose,shape}_withGT.json`,
each a list of {"id", "image", "real_image": "3DPW/imageFiles/<seq>/image_%05d.jpg",
"conversations": [{"from": "human", "value": "<image>\\n{request}"}, {"from": "gpt", ...}],
"ground_truth": {"joint_cam" (24, 3), "fitted_joint_cam" (24, 3), "smpl_param": {"pose" (72,),
"shape" (10,), ...}, "bbox": [x, y, w, h]}}. The same person (same picture, same box) asked
about in several files becomes one row with a `description_<kind>` per file (the human
request without `<image>`), `joints_cam` and `fitted_joints_cam` (24, 3) for evaluation (the
RPE-Refined script scores the first 22 joints). `--images` is the 3DPW root (holding
imageFiles/; default: a 3DPW/ folder beside the json files).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from posegpt.data.formats import read_json
from posegpt.data.prepare.common import Output, PersonRows, progress, require
from posegpt.errors import ModelFileError
from posegpt.records import IMAGE_TOKEN

NAME = "rpe"
FILE_PATTERN = re.compile(r"refine_vqa_(\w+?)_withGT\.json")
#: Joints the RPE evaluation scores (SMPL's first 22: no hands), as the RPE-Refined script.
RPE_JOINTS = 22


def read_entry(entry: object, where: str) -> tuple[str, tuple, str, dict]:
    """(image, box, request, ground truth) of one RPE entry."""
    try:
        if not isinstance(entry, dict):
            raise TypeError("an entry must be an object")
        image = entry["real_image"]
        truth = entry["ground_truth"]
        request = entry["conversations"][0]["value"]
        if not isinstance(image, str) or not isinstance(request, str):
            raise TypeError("'real_image' and the request must be text")
        box = tuple(float(v) for v in truth["bbox"])
        pose = np.asarray(truth["smpl_param"]["pose"], np.float32).reshape(72)
        shape = np.asarray(truth["smpl_param"]["shape"], np.float32).reshape(-1)
        joints = np.asarray(truth["joint_cam"], np.float32).reshape(24, 3)
        fitted = np.asarray(truth.get("fitted_joint_cam", truth["joint_cam"]), np.float32)
        if len(box) != 4 or not np.isfinite(pose).all():
            raise ValueError("'bbox' must be [x, y, w, h] and the pose finite")
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise ModelFileError(f"{where}: not an RPE entry ({err})") from err
    request = request.replace(IMAGE_TOKEN, "").strip()
    gt = {"pose": pose, "shape": shape, "joints": joints, "fitted": fitted.reshape(24, 3)}
    return image, box, request, gt


def prepare(
    src: Path, out: Path, images: Path | None = None, show: bool = True, **_: object
) -> dict:
    """Convert the RPE json files in the folder `src` into image2pose/rpe/test.npz."""
    files = {
        match.group(1): path
        for path in sorted(require(src, "the RPE json folder").glob("*.json"))
        if (match := FILE_PATTERN.fullmatch(path.name))
    }
    if not files:
        raise ModelFileError(f"{src} holds no refine_vqa_<kind>_withGT.json files")
    people: dict[tuple, dict] = {}
    counts: dict[str, int] = {}
    for kind, path in progress(files.items(), "RPE files", show, len(files)):
        data = read_json(path)
        if not isinstance(data, list):
            raise ModelFileError(f"{path} must hold a JSON list of entries")
        for i, entry in enumerate(data):
            image, box, request, truth = read_entry(entry, f"{path} entry {i}")
            person = people.setdefault((image, box), {"truth": truth, "texts": {}})
            person["texts"][kind] = request
        counts[kind] = len(data)
    rows = PersonRows()
    for (image, (x, y, w, h)), person in people.items():
        truth = person["truth"]
        rows.add(
            f"{NAME}/{image.removeprefix('3DPW/')}",
            (x + w / 2, y + h / 2),
            max(w, h) / 200.0,
            truth["pose"],
            truth["shape"],
            joints_cam=truth["joints"],
            fitted_joints_cam=truth["fitted"],
            **{f"description_{k}": person["texts"].get(k, "") for k in files},
        )
    output = Output(out, NAME)
    output.write_people("test", rows)
    if images is None and (src / "3DPW").is_dir():
        images = src / "3DPW"
    output.link_images(images)
    counts["test"] = len(rows)
    return output.finish(counts, {}, src)
