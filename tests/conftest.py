"""Suite-wide settings and fixtures: one torch thread (tiny models on a busy 2-core machine run
many times faster on one thread than on two contended ones), and the real-data samples."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

#: What the tiny Gemma tokenizer of `gemma_cache` is trained on.
GEMMA_TEXTS = [
    "Sure, the SMPL pose is here. Can you predict the SMPL pose of the person in this image?",
    "There is a person: the person stands with both arms raised above the head.",
    "Someone squats low with the knees bent and the back straight. Give the SMPL pose.",
    "A man kicks forward with his right leg. The woman leans to the left.",
    "What colour is the sky? The sky is blue. Here it is: first this, then that.",
] * 20
#: Where the real pose samples are (not distributed): this variable, else ../shared/data/real
#: next to the repository.
REAL_DATA_ENV = "POSEGPT_REAL_DATA"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def gemma_cache(tmp_path_factory):
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
    bpe.train_from_iterator(GEMMA_TEXTS, trainer)
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


@pytest.fixture(scope="session")
def tiny_gemma_settings() -> dict:
    """gemma-3-270m preset overrides for tests: a tiny vision tower and LoRA rank."""
    return {
        "vision_hidden_size": 32,
        "vision_layers": 1,
        "vision_heads": 2,
        "vision_intermediate_size": 64,
        "image_size": 32,
        "patch_size": 8,
        "lora_r": 4,
        "lora_alpha": 8,
    }


@pytest.fixture(scope="session")
def real_data() -> Callable[[str], Path]:
    """`real_data("amass_sample/amass_sample.npz")`: that path under the real-data root; the
    test skips when it is absent."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
    root = Path(os.environ.get(REAL_DATA_ENV) or default)

    def need(relative: str = "") -> Path:
        path = root / relative
        if not path.exists():
            pytest.skip(f"real data not found at {path} (set {REAL_DATA_ENV})")
        return path

    return need
