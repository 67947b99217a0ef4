"""Sentence features of the user's words: frozen MiniLM embeddings projected into the LM input.

With `text_encoder="minilm"` each user turn's text (decoded from its ids, image placeholders
left out) is embedded by the frozen all-MiniLM-L6-v2 (`SentenceEmbedder`; with
`text_encoder="gemma-3-270m"` by frozen Gemma-3-270M, `GemmaEmbedder`), a trained two-layer
projector (like LLaVA's image projector) maps the embedding to the LM's width, and the
result is added to the input embedding of that turn's `<|user|>` marker. Ids, lengths and
positions do not change, so the data pipeline, generation and the KV cache work as without it.
The encoder's weights come from its package and are not saved with the model; the projector's
are. With `request_hints`, the pose of the nearest training request is added there too
(`request_hints`).

With `clause_features`, each clause of a user turn ("Sit on a chair and salute. Then play the
guitar") is embedded too, and a second projector's output is added to every word token of its
clause, so that the answer's k-th pose can find the k-th step's meaning where its words are. A
clause ends after punctuation and before "then", "finally", "next" or "afterwards". The
projector's last layer starts at zero: a model grown from one without it starts out the same.

With `word_features`, every word token of a user turn also gets MiniLM's contextual state of
the characters it covers (its wordpieces' last hidden states, averaged), through a fourth
projector that starts at zero: a word the templates never used still arrives with a pretrained
meaning in its sentence, as LLaVA's image tokens arrive with CLIP's.

With `step_features`, the clauses are read once more where the answer says them: every answer
token after the answer's (k-1)-th `<POSE>` (up to and with its k-th) gets the k-th clause of the
user turn before it, through a third projector (the last clause for steps past the last), so
that the words and pose of each step of "Lie on your back, then roll over" meet their own
clause. In generation, `stepping` adds them to each new token as it is fed back in. Its
projector starts at zero too.

Word dropout (training only, `drop_words`): the input embeddings of a share of the user's word
tokens are zeroed, so that the model learns to read a turn's meaning from its sentence features
too, which know wordings the training templates never used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from transformers import PreTrainedTokenizerFast

from posegpt.model.request_hints import RequestHints
from posegpt.model.text_embedder import MAX_TEXT_CHARS, SentenceEmbedder
from posegpt.model.tokenizer import (
    CHAT_TOKENS,
    END_TOKEN,
    IMAGE_TOKEN,
    POSE_TOKEN,
    ROLE_TOKENS,
    token_id,
)

#: Texts whose embeddings are kept between batches (prompt templates recur in training).
CACHE_SIZE = 65_536
#: Tokens that end a clause of a user turn, and words that start one.
CLAUSE_ENDS = frozenset(".,;:!?")
CLAUSE_STARTS = frozenset({"then", "finally", "next", "afterwards"})
#: A shorter clause ("Finally,") joins the next one.
MIN_CLAUSE_WORDS = 2
_WORD = re.compile(r"\w+")


def _projector(dim: int, hidden_size: int) -> nn.Sequential:
    """Encoder features -> the LM's width (two layers, as LLaVA's image projector)."""
    return nn.Sequential(
        nn.Linear(dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size)
    )


def _added_at(
    embeds: torch.Tensor, rows: list[int], spans: list[list[int]], values: torch.Tensor
) -> torch.Tensor:
    """(B, L, H) `embeds` plus `values` (one row per position of `spans`, in order) at the
    positions of each span, in its row of `rows`."""
    lengths = torch.tensor([len(span) for span in spans], device=embeds.device)
    index = (
        torch.tensor(rows, device=embeds.device).repeat_interleave(lengths),
        torch.tensor([pos for span in spans for pos in span], device=embeds.device),
    )
    return embeds.index_put(index, values.to(embeds.device, embeds.dtype), accumulate=True)


class UserTextFeatures(nn.Module):
    """Adds projected MiniLM embeddings of the user turns to their `<|user|>` embeddings."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerFast,
        hidden_size: int,
        encoder: str = "minilm",
        clauses: bool = False,
        hint_rows: int = 0,
        steps: bool = False,
        words: bool = False,
    ) -> None:
        super().__init__()
        if encoder == "gemma-3-270m":
            from posegpt.model.gemma import GemmaEmbedder

            self.embedder: SentenceEmbedder = GemmaEmbedder(cache_size=CACHE_SIZE)
        else:
            self.embedder = SentenceEmbedder(cache_size=CACHE_SIZE)  # frozen, not a submodule
        self.projector = _projector(self.embedder.dim, hidden_size)
        self.clause_projector = _projector(self.embedder.dim, hidden_size) if clauses else None
        self.step_projector = _projector(self.embedder.dim, hidden_size) if steps else None
        self.word_projector = _projector(self.embedder.dim, hidden_size) if words else None
        self.hints = RequestHints(hint_rows, self.embedder.dim, hidden_size) if hint_rows else None
        for grown in (self.clause_projector, self.step_projector, self.word_projector):
            if grown is not None:
                nn.init.zeros_(grown[-1].weight)
                nn.init.zeros_(grown[-1].bias)
        if clauses or words:
            #: each token id's text alone
            self.token_texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
            bare = [text.strip().lower() for text in self.token_texts]
            self.ends_clause = [text in CLAUSE_ENDS for text in bare]
            self.starts_clause = [text in CLAUSE_STARTS for text in bare]
        self.tokenizer = tokenizer
        self.user_id = token_id(tokenizer, ROLE_TOKENS["user"])
        self.assistant_id = token_id(tokenizer, ROLE_TOKENS["assistant"])
        self.pose_id = token_id(tokenizer, POSE_TOKEN)
        self.end_id = token_id(tokenizer, END_TOKEN)
        self.image_id = token_id(tokenizer, IMAGE_TOKEN)
        self.marker_ids = torch.tensor([token_id(tokenizer, t) for t in CHAT_TOKENS])
        self.special_ids = torch.tensor(sorted(tokenizer.all_special_ids))

    def user_turns(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
        """(N, 2) (row, position) of every `<|user|>` marker in (B, L) ids, and its turn's text."""
        positions = (input_ids == self.user_id).nonzero()
        texts = []
        for row, start in positions.tolist():
            turn = input_ids[row, start + 1 :].tolist()
            stop = turn.index(self.end_id) if self.end_id in turn else len(turn)
            ids = [i for i in turn[:stop] if i != self.image_id]
            text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            texts.append(text[:MAX_TEXT_CHARS])
        return positions, texts

    def _turn_bounds(self, input_ids: torch.Tensor) -> Iterator[tuple[int, list[int], int, int]]:
        """Each user turn in (B, L) ids: its row, that row's ids, the position of its `<|user|>`
        marker and of its end (its `<|end|>`, or the row's end)."""
        for row, start in (input_ids == self.user_id).nonzero().tolist():
            ids = input_ids[row].tolist()
            stop = ids.index(self.end_id, start) if self.end_id in ids[start:] else len(ids)
            yield row, ids, start, stop

    def clauses(
        self, input_ids: torch.Tensor
    ) -> tuple[list[list[int]], list[int], list[str], list[int]]:
        """Every clause of every user turn in (B, L) ids: the positions of its word tokens, its
        row, its text (a clause of one word joins the next; one without a word is left out) and
        the position of its turn's `<|user|>` marker."""
        special = set(self.special_ids.tolist())
        spans, rows, texts, turns = [], [], [], []
        for row, ids, start, stop in self._turn_bounds(input_ids):
            cuts = [start + 1, stop]
            for pos in range(start + 1, stop):
                if self.starts_clause[ids[pos]]:
                    cuts.append(pos)
                elif self.ends_clause[ids[pos]]:
                    cuts.append(pos + 1)
            cuts = sorted(set(cuts))
            words: list[int] = []
            for begin, end in zip(cuts, cuts[1:], strict=False):
                words += [pos for pos in range(begin, end) if ids[pos] not in special]
                text = self.tokenizer.decode([ids[pos] for pos in words]).strip()
                if len(_WORD.findall(text)) >= MIN_CLAUSE_WORDS or end == stop:
                    if _WORD.search(text):
                        spans.append(words)
                        rows.append(row)
                        texts.append(text[:MAX_TEXT_CHARS])
                        turns.append(start)
                    words = []
        return spans, rows, texts, turns

    def word_spans(
        self, input_ids: torch.Tensor
    ) -> tuple[list[int], list[list[int]], list[str], list[list[tuple[int, int]]]]:
        """Every user turn in (B, L) ids: its row, the positions of its word tokens, their texts
        joined, and each token's character span in that text (up to `MAX_TEXT_CHARS`)."""
        special = set(self.special_ids.tolist())
        rows, positions, texts, spans = [], [], [], []
        for row, ids, start, stop in self._turn_bounds(input_ids):
            text, words, bounds = "", [], []
            for pos in range(start + 1, stop):
                piece = self.token_texts[ids[pos]]
                if ids[pos] in special or len(text) + len(piece) > MAX_TEXT_CHARS:
                    continue
                words.append(pos)
                bounds.append((len(text), len(text) + len(piece)))
                text += piece
            if words:
                rows.append(row)
                positions.append(words)
                texts.append(text)
                spans.append(bounds)
        return rows, positions, texts, spans

    def _word_features(self, input_ids: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """`embeds` with each user word token's projected MiniLM state added."""
        rows, positions, texts, spans = self.word_spans(input_ids)
        if not texts:
            return embeds
        states = torch.cat(self.embedder.word_states(texts, spans))
        device = self.word_projector[0].weight.device
        added = self._projected(states.to(device), self.word_projector)
        return _added_at(embeds, rows, positions, added)

    def _projected(self, features: torch.Tensor, projector: nn.Module) -> torch.Tensor:
        """(N, dim) sentence embeddings -> (N, H) through `projector`."""
        return projector(features.to(projector[0].weight.dtype))

    def _embedded(self, texts: list[str]) -> torch.Tensor:
        """(N, dim) float32 sentence embeddings of `texts`, on the projectors' device."""
        device = self.projector[0].weight.device
        return self.embedder.to(device).embed(texts).to(device)

    def forward(self, input_ids: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """`embeds` (B, L, H) of `input_ids` with the user turns' (and clauses') features (and
        request hints) added."""
        positions, texts = self.user_turns(input_ids)
        if not texts:
            return embeds
        features = self._embedded(texts)
        added = self._projected(features, self.projector)
        if self.hints is not None:
            added = added + self.hints(features)
        index = (positions[:, 0], positions[:, 1])
        embeds = embeds.index_put(index, added.to(embeds.dtype), accumulate=True)
        if self.word_projector is not None:
            embeds = self._word_features(input_ids, embeds)
        if self.clause_projector is None:
            return embeds
        spans, rows, texts, turns = self.clauses(input_ids)
        if not texts:
            return embeds
        clause_features = self._embedded(texts)
        added = self._projected(clause_features, self.clause_projector)
        lengths = torch.tensor([len(span) for span in spans], device=added.device)
        embeds = _added_at(embeds, rows, spans, added.repeat_interleave(lengths, dim=0))
        if self.step_projector is None:
            return embeds
        steps = self._projected(clause_features, self.step_projector).to(embeds.dtype)
        rows_, positions, chosen = self._answer_steps(input_ids, rows, turns)
        if not chosen:
            return embeds
        index = (
            torch.tensor(rows_, device=embeds.device),
            torch.tensor(positions, device=embeds.device),
        )
        return embeds.index_put(index, steps[chosen], accumulate=True)

    def _answer_steps(
        self, input_ids: torch.Tensor, rows: list[int], turns: list[int]
    ) -> tuple[list[int], list[int], list[int]]:
        """Row, position and clause (an index into `rows`/`turns`) of every answer token whose
        user turn has clauses: the k-th clause for the tokens after the answer's (k-1)-th
        `<POSE>`, the last clause past the last."""
        by_turn: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(zip(rows, turns, strict=True)):
            by_turn.setdefault(key, []).append(i)
        out_rows, positions, chosen = [], [], []
        for row, ids in enumerate(input_ids.tolist()):
            clauses: list[int] = []
            answering, done = False, 0
            for pos, token in enumerate(ids):
                if token == self.user_id:
                    clauses, answering = by_turn.get((row, pos), []), False
                elif token == self.assistant_id:
                    answering, done = True, 0
                elif answering and clauses:
                    out_rows.append(row)
                    positions.append(pos)
                    chosen.append(clauses[min(done, len(clauses) - 1)])
                    done += token == self.pose_id
        return out_rows, positions, chosen

    def last_turn_steps(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(C, H) projected step features of the clauses of the last user turn in (1, L) ids."""
        if self.step_projector is None:
            return torch.empty(0)
        _, _, texts, turns = self.clauses(input_ids)
        if not texts:
            return torch.empty(0)
        last = [text for text, turn in zip(texts, turns, strict=True) if turn == turns[-1]]
        return self._projected(self._embedded(last), self.step_projector)

    @contextmanager
    def stepping(self, embedding: nn.Module, input_ids: torch.Tensor) -> Iterator[None]:
        """While generating an answer to (1, L) prompt ids: each new token that `embedding`
        embeds gets the step features of the clause its step reads (as `forward` adds them)."""
        steps = self.last_turn_steps(input_ids)
        if not len(steps):
            yield
            return
        done = 0

        def add_step(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            nonlocal done
            added = steps[min(done, len(steps) - 1)].to(output.dtype)
            done += int((args[0] == self.pose_id).sum())
            return output + added

        handle = embedding.register_forward_hook(add_step)
        try:
            yield
        finally:
            handle.remove()

    def user_words(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) True at the user turns' word tokens (not at markers or placeholders)."""
        ids = input_ids
        index = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        marked = torch.isin(ids, self.marker_ids.to(ids.device))
        last_marker = torch.where(marked, index, -1).cummax(dim=1).values
        turn = ids.gather(1, last_marker.clamp(min=0))
        words = ~torch.isin(ids, self.special_ids.to(ids.device))
        return (last_marker >= 0) & (turn == self.user_id) & words

    def drop_words(
        self, input_ids: torch.Tensor, embeds: torch.Tensor, rate: float
    ) -> torch.Tensor:
        """`embeds` with each user word token's embedding zeroed with probability `rate`."""
        drop = self.user_words(input_ids)
        drop &= torch.rand(input_ids.shape, device=input_ids.device) < rate
        return embeds.masked_fill(drop[..., None], 0.0)
