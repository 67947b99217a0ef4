"""Build MediaPipe PoseLandmarker `.task` bundles from the BlazePose `.tflite` files.

mediapipe 1.x runs BlazePose only through the Tasks API, whose `PoseLandmarker` reads a `.task`
bundle (a zip of `pose_detector.tflite` and `pose_landmarks_detector.tflite`, each carrying its
input normalisation as TFLite metadata), and ships no model files. The `.tflite` files come from
registry packages (Apache-2.0):

  pose_detection.tflite       the `mediapipe==0.10.21` wheel (`pip download mediapipe==0.10.21
                              --no-deps`; mediapipe/modules/pose_detection/)
  pose_landmark_{lite,full,heavy}.tflite
                              the npm package `@mediapipe/pose@0.5.1675469404` (`npm pack`)

Usage: python tools/build_pose_landmarker.py SRC_DIR OUT_DIR [--variants lite full heavy]
This is how posegpt/model/pose_tower/pose_landmarker_lite.task was made (mediapipe 1.2.3's
metadata writers; no TFLite weight is changed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer
from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import (
    create_model_asset_bundle,
)

#: Input normalisation the Tasks graphs expect: detector in [-1, 1], landmarks in [0, 1].
DETECTOR_NORM = ([127.5], [127.5])
LANDMARKS_NORM = ([0.0], [255.0])


def with_metadata(path: Path, name: str, norm: tuple[list[float], list[float]]) -> bytes:
    """The model in `path` with general info and image-input normalisation metadata."""
    writer = metadata_writer.MetadataWriter.create(bytearray(path.read_bytes()))
    writer.add_general_info(name, "BlazePose (MediaPipe, Apache-2.0)")
    writer.add_image_input(norm_mean=norm[0], norm_std=norm[1])
    model, _ = writer.populate()
    return bytes(model)


def build(src: Path, out: Path, variant: str) -> Path:
    """Write `out/pose_landmarker_{variant}.task`; return its path."""
    detector = with_metadata(src / "pose_detection.tflite", "pose_detector", DETECTOR_NORM)
    landmarks = with_metadata(
        src / f"pose_landmark_{variant}.tflite",
        f"pose_landmarks_detector_{variant}",
        LANDMARKS_NORM,
    )
    path = out / f"pose_landmarker_{variant}.task"
    create_model_asset_bundle(
        {"pose_detector.tflite": detector, "pose_landmarks_detector.tflite": landmarks}, str(path)
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="folder with the .tflite files")
    parser.add_argument("out", type=Path, help="folder for the .task bundles")
    parser.add_argument(
        "--variants", nargs="+", default=["lite"], choices=["lite", "full", "heavy"]
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        path = build(args.src, args.out, variant)
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
