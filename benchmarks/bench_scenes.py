"""Throughput of the synthetic scene generator: scenes/s and person crops/s.

    python benchmarks/bench_scenes.py [--size 224] [--scenes 20] [--threads 1]

Scene times include everything `SceneGenerator.sample` does (poses drawn in batches, body
pass, layout, captions, descriptions, rendering with 2x anti-aliasing).
"""

from __future__ import annotations

import argparse
import time

import torch

from posegpt.synth.scenes import SceneGenerator, crop_person


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--scenes", type=int, default=20, help="scenes timed per people count")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = SceneGenerator(seed=0, image_size=args.size)
    generator.sample(1)  # warm up: caches, first pose batch
    for people in (1, 4):
        start = time.perf_counter()
        scenes = [generator.sample(people) for _ in range(args.scenes)]
        scene_time = time.perf_counter() - start
        start = time.perf_counter()
        crops = [crop_person(s, i, args.size) for s in scenes for i in range(len(s.people))]
        crop_time = time.perf_counter() - start
        print(
            f"{people} people, {args.size} px: {args.scenes / scene_time:6.2f} scenes/s "
            f"({1000 * scene_time / args.scenes:.0f} ms each), "
            f"{len(crops) / crop_time:8.1f} crops/s"
        )


if __name__ == "__main__":
    main()
