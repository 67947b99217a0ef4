"""Conversation retention: does the model still answer questions that are not pose requests?

Each held-out instruction conversation is replayed up to its last user turn (earlier turns as
written in the data) and the model's greedy reply is compared with the reference answer:

- exact: equal after normalisation (lower case, punctuation and `<POSE>` removed, spaces
  collapsed);
- correct (the accuracy reported), by the first rule that applies to the reference:
  1. exact match;
  2. it starts with "yes" / "no": the reply's first yes/no word is the same;
  3. it holds numbers (digits or "zero".."ten"): the reply holds them all;
  4. otherwise keyword match: at least KEYWORD_RECALL of the reference's content words (not in
     STOPWORDS) appear in the reply. Canned chat answers accept any of the topic's answers.

`<POSE>` emission: a reply is right when it holds exactly as many poses as the reference
(none for these questions; one for every pose request, counted in the pose benchmarks).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from PIL import Image
from tqdm import tqdm

from posegpt.data.templates import NUMBER_WORDS
from posegpt.eval.chat_method import TEXT_REPLY_TOKENS, PoseGPTMethod
from posegpt.records import POSE_TOKEN, Conversation
from posegpt.synth.instructions import CHAT

KEYWORD_RECALL = 0.5
#: The number words an answer's numbers are read from (zero to ten).
SCORED_NUMBER_WORDS = NUMBER_WORDS[:11]
STOPWORDS = frozenset((
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "i", "you", "he", "she",
    "they", "it", "we", "me", "my", "your", "his", "her", "their", "its", "our", "this", "that",
    "these", "those", "there", "here", "of", "in", "on", "at", "to", "for", "with", "by", "from",
    "and", "or", "but", "as", "so", "if", "then", "do", "does", "did", "can", "could", "will",
    "would", "should", "may", "might", "must", "not", "no", "yes", "have", "has", "had", "what",
    "which", "who", "how", "why", "when", "where", "all", "any", "some", "very", "just", "also",
    "more", "most", "than", "too", "up", "down", "out", "over", "into", "about",
))  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, `<POSE>` and punctuation removed, single spaces."""
    return " ".join(_WORD.findall(text.replace(POSE_TOKEN, " ").lower()))


def _numbers(words: list[str]) -> set[int]:
    return {
        int(w) if w.isdigit() else SCORED_NUMBER_WORDS.index(w)
        for w in words
        if w.isdigit() or w in SCORED_NUMBER_WORDS
    }


def answer_matches(reply: str, reference: str) -> bool:
    """Whether `reply` answers like `reference` (rules in the module docstring)."""
    said, wanted = normalise(reply).split(), normalise(reference).split()
    if said == wanted:
        return True
    if wanted and wanted[0] in ("yes", "no"):
        return next((w for w in said if w in ("yes", "no")), None) == wanted[0]
    numbers = _numbers(wanted)
    if numbers:
        return numbers <= _numbers(said)
    keywords = {w for w in wanted if w not in STOPWORDS}
    if not keywords:
        return False
    return len(keywords & set(said)) >= KEYWORD_RECALL * len(keywords)


def references(conversation: Conversation) -> list[str]:
    """The acceptable answers to a conversation's last turn: the written one, and for canned
    chat topics every answer of the topic."""
    answers = [conversation.messages[-1].content]
    topic = conversation.meta.get("topic")
    if conversation.meta.get("kind") == "chat" and topic in CHAT:
        answers += [a for a in CHAT[topic][1] if a not in answers]
    return answers


def evaluate_retention(
    method: PoseGPTMethod,
    conversations: Sequence[Conversation],
    load_image: Callable[[Conversation], Image.Image | None],
    progress: bool = True,
) -> dict[str, float]:
    """Accuracy and exact-match rate (percent) over the conversations, accuracy per kind
    ("acc_<kind>"), the rate of replies with the right number of poses ("emission") and the
    counts behind them ("n", "emission_ok")."""
    right, exact, emission = 0, 0, 0
    per_kind: Counter = Counter()
    total_kind: Counter = Counter()
    for conversation in tqdm(
        conversations, desc="retention", unit="dialogue", disable=not progress
    ):
        if not conversation.messages or conversation.messages[-1].role != "assistant":
            continue
        history = [{"role": m.role, "content": m.content} for m in conversation.messages[:-1]]
        reply = method.ask(history, load_image(conversation), TEXT_REPLY_TOKENS)
        answers = references(conversation)
        ok = any(answer_matches(reply.text, a) for a in answers)
        kind = str(conversation.meta.get("kind", "other"))
        total_kind[kind] += 1
        per_kind[kind] += ok
        right += ok
        exact += normalise(reply.text) == normalise(answers[0])
        emission += len(reply.poses) == answers[0].count(POSE_TOKEN)
    n = sum(total_kind.values())
    out = {
        "accuracy": _percent(right, n),
        "exact": _percent(exact, n),
        "emission": _percent(emission, n),
        "n": float(n),
        "emission_ok": float(emission),
    }
    out.update({f"acc_{k}": _percent(per_kind[k], total_kind[k]) for k in sorted(total_kind)})
    return out


def _percent(count: int, total: int) -> float:
    return 100.0 * count / total if total else float("nan")
