"""Pose generation and captioning speed, and the captions' round-trip agreement.

python benchmarks/bench_captioner.py --poses 1000 --threads 1

Generates poses with `PoseGenerator` (poses/s, body forward and rejection included), reads
their posecodes in one batch and writes short/medium/long captions (poses/s), then re-checks
every claim of every caption against posecodes recomputed from the joints, and the
left/right words of its text against its side (`verify_claims`). Any disagreement is a bug.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

import torch

from posegpt.body import load_body_model
from posegpt.body.posecodes import posecodes_batch
from posegpt.synth.captioner import DETAILS, caption_with_claims, verify_claims
from posegpt.synth.poses import PoseGenerator

BENDS = ("elbow", "knee")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    body = load_body_model()
    generator = PoseGenerator(seed=args.seed, body=body)
    generator.sample_many(8)  # warm-up

    start = time.perf_counter()
    samples = generator.sample_many(args.poses)
    generate_s = time.perf_counter() - start

    joints = torch.stack([s.joints for s in samples])
    rng = random.Random(args.seed)
    start = time.perf_counter()
    codes = posecodes_batch(joints)
    captions = [[caption_with_claims(c, d, rng) for d in DETAILS] for c in codes]
    caption_s = time.perf_counter() - start

    claims, problems = Counter(), Counter()
    for pose_joints, pose_captions in zip(joints, captions, strict=True):
        bad = verify_claims(pose_joints, pose_captions)
        problems["all"] += len(bad)
        for caption in pose_captions:
            for claim in caption.claims:
                claims["all"] += 1
                claims["left/right"] += bool(claim.sides_named)
                claims["bend"] += any(code.endswith(BENDS) for code in claim.codes)
        problems["left/right"] += sum("names" in p for p in bad)
        problems["bend"] += sum(p.split(":")[0].endswith(BENDS) for p in bad)

    words = [len(c.text.split()) for pose_captions in captions for c in pose_captions]
    print(f"body={body.name} threads={args.threads} poses={args.poses}")
    print(f"generation: {args.poses / generate_s:.0f} poses/s ({generate_s:.2f} s)")
    print(
        f"captioning (posecodes + 3 captions): {args.poses / caption_s:.0f} poses/s "
        f"({caption_s:.2f} s), {sum(words) / len(words):.1f} words per caption"
    )
    print(f"families: {len({s.family for s in samples})}")
    print("| claims | checked | agree |")
    print("|---|---|---|")
    for kind in ("all", "left/right", "bend"):
        n = claims[kind]
        rate = 100.0 * (1 - problems[kind] / n) if n else float("nan")
        print(f"| {kind} | {n} | {rate:.2f}% |")
    print("\nexamples:")
    for s, pose_captions in list(zip(samples, captions, strict=True))[:3]:
        print(f"- {s.params['description']}:")
        for caption in pose_captions:
            print(f"  [{caption.detail}] {caption.text}")


if __name__ == "__main__":
    main()
