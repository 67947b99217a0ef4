"""Multi-pose requests in the training templates' words: does the answer give the asked number
of poses, and does it name a different pose family for each?

Items: the multi-pose conversations of a dataset's val split (`instructions/val.json`, kind
"multi"; worded by the training templates, never trained on). Family named for each pose: the
words before it (`posegpt.eval.everyday.naming`, as the everyday benchmark reads replies). A
diagnostic of what the model learned from its own data; the held-out everyday benchmark in
`posegpt bench` is the test.

python benchmarks/bench_multi_pose.py --data DATA --model default --model runs/x/final \
    [--repetition-penalty 1 --repetition-penalty 1.3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posegpt.data.formats import read_llava
from posegpt.eval.everyday.naming import named_family, pose_words
from posegpt.model import load_chat_model
from posegpt.records import POSE_TOKEN


def score(model, items, **decoding) -> dict[str, float]:
    """Right count %; % of the answers with several poses whose words name a family twice
    (words that name no family are not counted as a repeat); and, of the poses asked for one by
    one ("sit, then wave"), the % named as the family asked for at their place."""
    right = repeating = several = as_asked = asked = 0
    for item in items:
        reply = model.chat(item.messages[:1], max_new_tokens=160, **decoding).text
        right += reply.count(POSE_TOKEN) == len(item.poses)
        named = [named_family(words) for words in pose_words(reply)]
        if "group" not in item.meta:  # an explicit sequence, not "three ways of moving"
            wanted = item.meta["families"]
            asked += len(wanted)
            as_asked += sum(n == w for n, w in zip(named, wanted, strict=False))
        if len(named) > 1:
            several += 1
            named = [family for family in named if family is not None]
            repeating += len(set(named)) < len(named)
    return {
        "right count %": 100 * right / len(items),
        "several poses, a family named twice %": 100 * repeating / max(several, 1),
        "asked one by one, named as asked %": 100 * as_asked / max(asked, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument(
        "--repetition-penalty", type=float, action="append", default=[], dest="penalties"
    )
    args = parser.parse_args()
    conversations = read_llava(args.data / "instructions/val.json")
    items = [c for c in conversations if c.meta.get("kind") == "multi"][: args.items]
    print(f"{len(items)} multi-pose requests from {args.data}/instructions/val.json")
    for name in args.model or ["default"]:
        model = load_chat_model(name)
        for penalty in args.penalties or [1.0]:
            figures = score(model, items, repetition_penalty=penalty)
            shown = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
            print(f"{name}, repetition penalty {penalty:g}: {shown}", flush=True)


if __name__ == "__main__":
    main()
