"""Fixtures shared by the model tests: a small corpus and the tokenizer trained on it."""

from __future__ import annotations

import pytest
import torch

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.model import train_tokenizer

PHRASES = [
    "Sure, the SMPL pose is <POSE>.",
    "Can you predict the SMPL pose of the person in this image?",
    "There is a person: {} Please output this person's SMPL pose.",
    "{} Give the SMPL pose.",
    "What colour is the sky? The sky is blue.",
    "Here it is: <POSE>",
    "First <POSE> then <POSE>.",
]
DESCRIPTIONS = [
    "The person stands with both arms raised above the head.",
    "Someone squats low with the knees bent and the back straight.",
    "A man kicks forward with his right leg.",
    "The woman leans to the left with her hands on her hips.",
    "The person waves the left hand.",
]


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    """A few hundred short strings."""
    texts = [p.format(d) for p in PHRASES for d in DESCRIPTIONS]
    return texts * 10


@pytest.fixture(scope="session")
def tokenizer(corpus):
    return train_tokenizer(corpus, vocab_size=600)


@pytest.fixture(scope="session")
def make_batch():
    """make_batch(model): a collated batch with one image sample and one text sample, 3 poses."""

    def make(model):
        generator = torch.Generator().manual_seed(0)
        image = "<image>\nCan you predict the SMPL pose?"
        samples = []
        for question, answer in [
            (image, "Sure, the SMPL pose is <POSE>."),
            ("Two?", "<POSE> <POSE>"),
        ]:
            messages = [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
            ids, labels = model.encode(messages)
            poses = axis_angle_to_rotmat(
                torch.randn(answer.count("<POSE>"), 24, 3, generator=generator)
            )
            samples.append({"input_ids": ids, "labels": labels, "poses": poses})
        size = model.config.image_size
        samples[0]["pixel_values"] = torch.randn(3, size, size, generator=generator)
        return model.collate_fn(samples)

    return make


@pytest.fixture(scope="session")
def gemma_cache(tmp_path_factory, corpus):
    """A POSEGPT_CACHE root holding a tiny Gemma-3 (random weights) in the layout of the real
    cache: a byte-fallback BPE like Gemma's and a 2-layer Gemma3ForCausalLM."""
    from tokenizers import Tokenizer, decoders, models, normalizers, processors, trainers
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    from posegpt.model import gemma

    root = tmp_path_factory.mktemp("posegpt-cache")
    folder = root / gemma.NAME
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", *(f"<0x{i:02X}>" for i in range(256))]
    bpe = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    bpe.normalizer = normalizers.Replace(" ", "\u2581")
    bpe.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials, show_progress=False)
    bpe.train_from_iterator([t.replace("<POSE>", "") for t in corpus], trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", 2)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        layer_types=["sliding_attention", "full_attention"],
        sliding_window=16,
        max_position_embeddings=512,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    torch.manual_seed(0)
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / gemma.MARKER).write_text("{}", encoding="utf-8")
    return root
