"""MiniLM sentence features of the user turns (text_encoder="minilm")."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from posegpt.body.prior import GaussianPosePrior
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError
from posegpt.model import build_model, get_config, load_pretrained, save_pretrained
from posegpt.model.build import grow
from posegpt.model.text_embedder import SentenceEmbedder

QUESTION = "The person waves the left hand. Give the SMPL pose."
#: A system prompt, then two user turns (the first with a picture) around an answer.
TWO_TURNS = [
    {"role": "system", "content": "You are PoseGPT."},
    {"role": "user", "content": "<image>\nCan you predict the SMPL pose?"},
    {"role": "assistant", "content": "Sure, the SMPL pose is <POSE>."},
    {"role": "user", "content": QUESTION},
]


@pytest.fixture(scope="module")
def models(tokenizer):
    """A tiny model with text features and one without, sharing every other weight."""
    torch.manual_seed(0)
    with_text = build_model(get_config("tiny", text_encoder="minilm"), tokenizer)
    plain = build_model("tiny", tokenizer)
    plain.load_state_dict(with_text.state_dict(), strict=False)
    return with_text, plain


def test_user_turns_are_found_with_their_text(models):
    model, _ = models
    ids, _ = model.encode(TWO_TURNS, add_generation_prompt=True)
    positions, texts = model.text_features.user_turns(ids[None])
    assert texts == ["Can you predict the SMPL pose?", QUESTION]
    assert positions[:, 0].tolist() == [0, 0]
    assert (ids[positions[:, 1]] == model.text_features.user_id).all()


def test_zero_features_change_nothing_and_real_ones_do(models, make_batch):
    with_text, plain = models
    batch = make_batch(plain)
    messages = [{"role": "user", "content": QUESTION}]
    projector = with_text.text_features.projector
    saved = [p.detach().clone() for p in projector[2].parameters()]
    with torch.no_grad():
        for p in projector[2].parameters():
            p.zero_()
    try:
        assert torch.equal(with_text(batch).logits, plain(batch).logits)
        assert with_text.chat(messages).text == plain.chat(messages).text
    finally:
        with torch.no_grad():
            for p, value in zip(projector[2].parameters(), saved, strict=True):
                p.copy_(value)
    assert not torch.allclose(with_text(batch).logits, plain(batch).logits)


def test_projector_trains_and_minilm_stays_out_of_the_model(models, make_batch):
    model, _ = models
    model.zero_grad()
    out = model(make_batch(model))
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    grads = [p.grad for p in model.text_features.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    names = [n for n, _ in model.named_parameters() if n.startswith("text_features")]
    assert len(names) == 4  # the projector only: MiniLM is frozen and loaded from its wheel


def test_save_load_round_trip(models, make_batch, tmp_path):
    model, _ = models
    save_pretrained(model, tmp_path / "m")
    loaded = load_pretrained(tmp_path / "m")
    assert loaded.config.text_encoder == "minilm"
    batch = make_batch(model)
    assert torch.equal(loaded(batch).logits, model(batch).logits)


def test_embedder_cache_is_bounded_and_reused(monkeypatch):
    embedder = SentenceEmbedder(cache_size=2)
    first = embedder.embed(["a", "b", "a"])
    assert torch.equal(first[0], first[2])
    calls = []
    encode = embedder.model.encode
    monkeypatch.setattr(
        embedder.model, "encode", lambda texts, **kw: calls.append(texts) or encode(texts, **kw)
    )
    again = embedder.embed(["b", "a", "c"])
    assert calls == [["c"]]
    assert torch.allclose(again[:2], first[[1, 0]])
    assert list(embedder._cache) == ["b", "c"]
    assert embedder.embed([]).shape == (0, 384)


def test_minilm_embeddings_equal_sentence_transformers():
    """The light loader gives sentence-transformers' numbers (long texts cut the same way)."""
    sentence_transformers = pytest.importorskip("sentence_transformers")
    from posegpt.model.text_embedder import minilm_path

    texts = [QUESTION, "hello", "a very long request " * 200, "Wave. " * 3]
    reference = sentence_transformers.SentenceTransformer(
        minilm_path(), device="cpu", local_files_only=True
    ).encode(texts, convert_to_tensor=True, normalize_embeddings=True)
    ours = SentenceEmbedder().embed(texts)
    assert ours.shape == (4, 384)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_user_words_are_the_user_turns_words_only(models):
    model, _ = models
    ids, _ = model.encode(TWO_TURNS, add_generation_prompt=True)
    words = model.text_features.user_words(ids[None])[0]
    decoded = model.tokenizer.decode(ids[words], skip_special_tokens=False)
    assert "".join(decoded.split()) == "".join(f"Can you predict the SMPL pose?{QUESTION}".split())


def test_word_dropout_zeroes_user_words_in_training_only(models, make_batch):
    model, _ = models
    batch = make_batch(model)
    ids = batch["input_ids"]
    embeds = model.backbone.get_input_embeddings()(ids)
    torch.manual_seed(0)
    dropped = model.text_features.drop_words(ids, embeds, 0.5)
    zeroed = (dropped != embeds).any(-1)
    words = model.text_features.user_words(ids)
    assert zeroed.any() and not (zeroed & ~words).any()  # only user words, some of them
    assert (dropped[zeroed] == 0).all()
    assert zeroed.sum() < words.sum()

    model.word_dropout = 0.5
    try:
        model.eval()
        assert torch.equal(model(batch).logits, model(batch).logits)  # off outside training
        model.train()
        assert not torch.equal(model(batch).logits, model(batch).logits)
    finally:
        model.word_dropout = 0.0
        model.eval()


STEPS = "Sit on a chair and wave. Then kneel; finally, lie on the back."


def _asked_after_first_turn(text: str) -> list[dict[str, str]]:
    """The first exchange of TWO_TURNS, then `text` from the user."""
    return [*TWO_TURNS[:3], {"role": "user", "content": text}]


def _grown(model, **settings):
    """`model` grown by `settings` (their new parts zero-initialised), in eval mode."""
    return grow(model, dataclasses.replace(model.config, **settings)).eval()


@pytest.fixture(scope="module")
def clause_model(models):
    """The text-feature model grown by clause features."""
    return _grown(models[0], clause_features=True)


def test_clauses_split_a_turn_at_punctuation_and_step_words(clause_model):
    messages = _asked_after_first_turn(STEPS)
    ids, _ = clause_model.encode(messages, add_generation_prompt=True)
    spans, rows, texts, turns = clause_model.text_features.clauses(ids[None])
    # "finally," alone is one word: it joins the next clause
    assert texts == [
        "Can you predict the SMPL pose?",
        "Sit on a chair and wave.",
        "Then kneel;",
        "finally, lie on the back.",
    ]
    assert rows == [0, 0, 0, 0]
    user = clause_model.text_features.user_id
    assert ids[turns].tolist() == [user] * 4 and turns[0] < turns[1] == turns[2] == turns[3]
    for span, text in zip(spans, texts, strict=True):
        assert clause_model.tokenizer.decode(ids[span]).strip() == text
    assert not set(ids[spans[0]].tolist()) & set(clause_model.tokenizer.all_special_ids)


def test_grown_model_starts_as_its_origin_and_its_clause_projector_trains(
    models, clause_model, make_batch
):
    with_text, _ = models
    batch = make_batch(with_text)
    assert torch.equal(clause_model(batch).logits, with_text(batch).logits)
    messages = [{"role": "user", "content": STEPS}]
    assert clause_model.chat(messages).text == with_text.chat(messages).text

    clause_model.zero_grad()
    out = clause_model(batch)
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    grads = [p.grad for p in clause_model.text_features.clause_projector[-1].parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    with torch.no_grad():
        clause_model.text_features.clause_projector[-1].bias.fill_(0.1)
    try:
        assert not torch.allclose(clause_model(batch).logits, with_text(batch).logits)
    finally:
        with torch.no_grad():
            clause_model.text_features.clause_projector[-1].bias.zero_()


ANSWER = "First sitting <POSE> then kneeling <POSE> and lying <POSE>"


@pytest.fixture(scope="module")
def step_model(clause_model):
    """The clause model grown by step features, their projector's output made non-zero."""
    grown = grow(clause_model, dataclasses.replace(clause_model.config, step_features=True))
    with torch.no_grad():
        grown.text_features.step_projector[-1].bias.normal_(0, 0.5, generator=_seeded(1))
    return grown.eval()


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_each_answer_step_reads_its_own_clause(step_model):
    """Tokens after the answer's (k-1)-th <POSE> (up to its k-th) get the k-th clause; steps past
    the last clause keep the last; the earlier answer reads its own turn's one clause."""
    messages = _asked_after_first_turn(STEPS)
    ids, _ = step_model.encode([*messages, {"role": "assistant", "content": ANSWER}])
    features = step_model.text_features
    _, rows, texts, turns = features.clauses(ids[None])
    _, positions, chosen = features._answer_steps(ids[None], rows, turns)
    last = int((ids == features.assistant_id).nonzero().max())
    words = [
        (step_model.tokenizer.decode(ids[p]).strip(), texts[c], p > last)
        for p, c in zip(positions, chosen, strict=True)
    ]
    assert {text for _, text, later in words if not later} == {"Can you predict the SMPL pose?"}
    answer = [(word, text) for word, text, later in words if later]
    poses = [i for i, (word, _) in enumerate(answer) if word == "<POSE>"]
    assert len(poses) == 3
    assert {text for _, text in answer[: poses[0] + 1]} == {texts[1]}
    assert {text for _, text in answer[poses[0] + 1 : poses[1] + 1]} == {texts[2]}
    assert {text for _, text in answer[poses[1] + 1 :]} == {texts[3]}
    user_words = features.user_words(ids[None])[0]
    assert not user_words[positions].any()  # only answer tokens get step features


def test_generation_adds_the_steps_the_full_pass_adds(step_model):
    """Each answer token embedded one at a time while `stepping` equals its input in a pass
    over the whole conversation: generation and training read the same steps."""
    messages = [{"role": "user", "content": STEPS}]
    prompt, _ = step_model.encode(messages, add_generation_prompt=True)
    ids, _ = step_model.encode([*messages, {"role": "assistant", "content": ANSWER}])
    embedding = step_model.backbone.get_input_embeddings()
    with torch.no_grad():
        full = step_model.text_features(ids[None], embedding(ids[None]))[0]
        with step_model.text_features.stepping(embedding, prompt[None]):
            answer = range(len(prompt), len(ids))
            one_by_one = [embedding(ids[None, t : t + 1])[0, 0] for t in answer]
        plain = embedding(ids[None, len(prompt) :])[0]
    torch.testing.assert_close(torch.stack(one_by_one), full[len(prompt) :])
    assert not torch.allclose(full[len(prompt) :], plain)  # the steps were added
    assert torch.equal(embedding(ids[None])[0, len(prompt) :], plain)  # the hook is gone


def test_grown_step_model_starts_as_its_origin_and_its_projector_trains(clause_model, make_batch):
    clause_model.pose_prior = GaussianPosePrior.fit(torch.eye(3).expand(2, NUM_JOINTS, 3, 3))
    try:
        grown = grow(clause_model, dataclasses.replace(clause_model.config, step_features=True))
    finally:
        prior, clause_model.pose_prior = clause_model.pose_prior, None
    assert grown.pose_prior is prior  # stored beside the weights: kept by growing
    batch = make_batch(clause_model)
    torch.testing.assert_close(grown.eval()(batch).logits, clause_model(batch).logits)
    messages = [{"role": "user", "content": STEPS}]
    assert grown.chat(messages).text == clause_model.chat(messages).text
    out = grown.train()(batch)
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    grads = [p.grad for p in grown.text_features.step_projector[-1].parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_step_features_need_clause_features():
    with pytest.raises(InvalidInputError, match="clause_features"):
        get_config("tiny", text_encoder="minilm", step_features=True)


def test_grow_refuses_settings_it_cannot_add(models):
    with_text, _ = models
    with pytest.raises(InvalidInputError, match="pose_seq_length"):
        grow(with_text, dataclasses.replace(with_text.config, pose_seq_length=3))


def test_clause_features_need_a_text_encoder():
    with pytest.raises(InvalidInputError, match="text_encoder"):
        get_config("tiny", clause_features=True)


TUMMY = "Lie on your tummy, then wave!"


@pytest.fixture(scope="module")
def word_model(models):
    """The text-feature model grown by word features."""
    return _grown(models[0], word_features=True)


def test_word_spans_cover_each_user_word_token_once(word_model):
    messages = _asked_after_first_turn(TUMMY)
    ids, _ = word_model.encode(messages, add_generation_prompt=True)
    features = word_model.text_features
    rows, positions, texts, spans = features.word_spans(ids[None])
    assert rows == [0, 0]
    assert [t.strip() for t in texts] == ["Can you predict the SMPL pose?", TUMMY]
    for turn, text, bounds in zip(positions, texts, spans, strict=True):
        assert "".join(text[a:b] for a, b in bounds) == text  # the spans tile the text
        pieces = [word_model.tokenizer.decode(ids[p]) for p in turn]
        assert [text[a:b] for a, b in bounds] == pieces
    user_words = features.user_words(ids[None])[0]
    assert sorted(p for turn in positions for p in turn) == user_words.nonzero()[:, 0].tolist()


def test_word_states_are_minilm_states_of_each_span():
    """A span's state is the mean of its wordpieces' last hidden states; a span of a space only
    gets zeros, and the same word in another sentence reads differently."""
    embedder = SentenceEmbedder()
    text = "Lie on your tummy"
    states = embedder.word_states([text, "My tummy hurts"], [[(0, 3), (11, 17), (3, 4)], [(2, 8)]])
    first, second = states
    assert first.shape == (3, SentenceEmbedder.dim) and second.shape == (1, SentenceEmbedder.dim)
    assert first[0].norm() > 0 and first[1].norm() > 0 and first[2].norm() == 0
    assert not torch.allclose(first[1], second[0])  # contextual: the sentence matters
    minilm = embedder.model
    batch = minilm.tokenizer([text], return_tensors="pt")
    hidden = minilm.model(**batch).last_hidden_state[0]
    pieces = minilm.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    tummy = [i for i, (a, b) in enumerate(pieces) if b > a and a >= 11]
    torch.testing.assert_close(first[1], hidden[tummy].mean(dim=0), atol=1e-5, rtol=1e-5)


def test_word_states_are_cached_bounded_and_reused(monkeypatch):
    embedder = SentenceEmbedder(cache_size=4)
    monkeypatch.setattr(SentenceEmbedder, "max_word_cache", 1)  # the smaller bound holds
    spans = [[(0, 3)]]
    first = embedder.word_states(["Sit down"], spans)[0]
    calls = []
    run = embedder.model.spans
    monkeypatch.setattr(
        embedder.model, "spans", lambda texts, bounds: calls.append(texts) or run(texts, bounds)
    )
    assert torch.equal(embedder.word_states(["Sit down"], spans)[0], first)
    assert calls == []
    embedder.word_states(["Sit up"], spans)
    assert calls == [["Sit up"]] and len(embedder._word_cache) == 1


def test_grown_word_model_starts_as_its_origin_and_its_projector_trains(
    models, word_model, make_batch
):
    with_text, _ = models
    batch = make_batch(with_text)
    assert torch.equal(word_model(batch).logits, with_text(batch).logits)
    messages = [{"role": "user", "content": TUMMY}]
    assert word_model.chat(messages).text == with_text.chat(messages).text
    word_model.zero_grad()
    out = word_model.train()(batch)
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    word_model.eval()
    grads = [p.grad for p in word_model.text_features.word_projector[-1].parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_word_features_need_minilm():
    with pytest.raises(InvalidInputError, match="word_features"):
        get_config("tiny", text_encoder="gemma-3-270m", word_features=True)
