"""The edit predicates validated on the pose families: true edits pass, unedited poses fail.

python benchmarks/bench_pose_edits.py --per-family 3

Draws poses of every family (facing +z), applies every edit that applies to each (its own
geometry, `posegpt.synth.pose_edits`), and checks with `follows` that the edited pose carries
out the instruction (its posecode predicate, the unmentioned joints kept) and that the unedited
pose does not. The first rate is the ceiling a model's edits can reach on the benchmarks, the
second the floor of "copy pose A".
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import torch

from posegpt.body import load_body_model
from posegpt.synth.pose_edits import EDIT_INFO, follows
from posegpt.synth.pose_tasks import PosePool, edit_trials
from posegpt.synth.poses import FAMILIES, PoseGenerator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    body = load_body_model()
    generator = PoseGenerator(seed=args.seed, random_yaw=False, body=body)
    pool = PosePool(PoseGenerator(seed=args.seed + 1, random_yaw=False, body=body))
    poses = torch.stack(
        [s.rotmat for f in FAMILIES for s in generator.sample_many(args.per_family, f)]
    )
    trials = edit_trials(body, poses, np.random.default_rng(args.seed), pool)
    before = trials.before
    count, passed, copied = Counter(), Counter(), Counter()
    for (i, step), pose, codes in zip(trials.steps, trials.edited, trials.after, strict=True):
        count[step.edit] += 1
        passed[step.edit] += follows(poses[i], pose, before[i], codes, step)
        copied[step.edit] += follows(poses[i], poses[i], before[i], before[i], step)
    print(f"{len(poses)} poses of {len(FAMILIES)} families, {len(trials.steps)} edits")
    print("| edit | items | true edit follows % | unedited pose follows % |")
    print("|---|---|---|---|")
    for edit in EDIT_INFO:
        if count[edit]:
            n = count[edit]
            print(f"| {edit} | {n} | {100 * passed[edit] / n:.1f} | {100 * copied[edit] / n:.1f} |")
    total = sum(count.values())
    print(
        f"| all | {total} | {100 * sum(passed.values()) / total:.1f} | "
        f"{100 * sum(copied.values()) / total:.1f} |"
    )
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
