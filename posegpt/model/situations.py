"""Situations the model never learned: "Describe, as an SMPL pose, a girl practising self-defence."

Asked about a situation its training data never named, the from-scratch model answers in the
speculative style it learned ("Probably in first position in ballet.") with a family the words do
not mean; MiniLM, reading the situation's own words, finds a fitting one ("in a boxing guard") more
often on SPG's val situations, though not on its test situations (BENCHMARKS.md, "Not chat's
default: situations the model never learned answered with MiniLM's nearest family").
`KnownSituations` holds what a model's training data asked about (`posegpt add-situations` writes
it into the model folder as SITUATIONS_FILE): the phrasings of its train situations, the words of
its question templates and subjects, the openers of its speculative answers and the pose families
by phrase. `PoseGPT.chat(route_situations=True)` asks a speculative answer's question again as a
request for `unknown_family`'s family when the situation is far from every known one;
`PoseGPT.chat(nearest_family=True)` asks a request that names no body part again for
`nearer_family`'s family (BENCHMARKS.md, "Not chat's default: a request's nearest family").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from posegpt.errors import ModelFileError
from posegpt.files import atomic_write_text

SITUATIONS_FILE = "situations.json"
#: How a situation's family is asked for.
ASK = "Show me someone {phrase}."
#: A situation is known when MiniLM puts it this close to a known phrasing (cosine; chosen on
#: SPG's val situations and a development set of seen ones: BENCHMARKS.md).
KNOWN_COSINE = 0.65
#: A request's nearest family replaces an answer when it is at least this much nearer the request
#: than the answer's words (cosine; the lowest margin that lost no passing answer on the everyday
#: development sets: BENCHMARKS.md, "Not chat's default: a request's nearest family").
FAMILY_MARGIN = 0.1
_BODY_PARTS = (
    "head neck shoulder shoulders arm arms elbow elbows wrist wrists hand hands finger fingers "
    "fist fists chest back spine hip hips waist leg legs thigh thighs knee knees ankle ankles "
    "foot feet toe toes heel heels torso stomach belly bum bottom glute glutes"
)
#: Words that name a body part: a request naming one says more than a family ("the left arm
#: raised") and keeps its answer.
BODY_PART_WORDS = frozenset(_BODY_PARTS.split())
_WORD = re.compile(r"[A-Za-z'-]+")
_LETTERS = re.compile(r"[a-z]+")

Embed = Callable[[list[str]], torch.Tensor]


@dataclass
class KnownSituations:
    """What a model's training data asked about situations (see the module docstring):
    `families` maps each pose family to its phrase ("kneeling on one knee")."""

    families: Mapping[str, str]
    known: Sequence[str]
    question_words: frozenset[str]
    openers: Sequence[str]
    _banks: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)

    def answers_situation(self, reply: str) -> bool:
        """Whether `reply` opens as the training data's speculative answers do."""
        return reply.strip().lower().startswith(tuple(o.lower() for o in self.openers))

    def situation(self, message: str) -> str:
        """The situation `message` asks about: its words outside the question words, after
        "someone" (as the known phrasings and family phrases read)."""
        words = [w for w in _WORD.findall(message) if w.lower() not in self.question_words]
        return " ".join(["someone", *words])

    def unknown_family(self, message: str, answer: str, embed: Embed) -> str | None:
        """The phrase of the family `embed` (texts -> sentence embeddings) puts nearest the
        situation `message` asks about, when its `answer` guesses in the speculative style and
        that situation is unknown (below KNOWN_COSINE to every known phrasing); else None."""
        if not self.answers_situation(answer):
            return None
        known, families = self.embedded(embed)
        asked = torch.nn.functional.normalize(embed([self.situation(message)]).float(), dim=-1)
        if float((asked @ known.T).max()) >= KNOWN_COSINE:
            return None
        phrases = list(self.families.values())
        return phrases[int((asked @ families.T).argmax())]

    def nearer_family(self, message: str, answer: str, embed: Embed) -> str | None:
        """The phrase of the family `embed` puts nearest the request `message`, when the message
        names no body part and that family is at least FAMILY_MARGIN nearer it than the words
        of its `answer`; else None."""
        if BODY_PART_WORDS & set(_LETTERS.findall(message.lower())):
            return None
        _, families = self.embedded(embed)
        unit = torch.nn.functional.normalize(embed([message, answer]).float(), dim=-1)
        nearest = int((unit[0] @ families.T).argmax())
        if float(unit[0] @ families[nearest] - unit[0] @ unit[1]) < FAMILY_MARGIN:
            return None
        return list(self.families.values())[nearest]

    def embedded(self, embed: Embed) -> tuple[torch.Tensor, torch.Tensor]:
        """The known phrasings' and the families' unit embeddings by `embed`, made on first use
        (some seconds for a model's thousands of phrasings) and kept."""
        if self._banks is None:
            known, families = (
                torch.nn.functional.normalize(
                    embed([f"someone {p}" for p in texts]).float(), dim=-1
                )
                for texts in (self.known, self.families.values())
            )
            self._banks = known, families
        return self._banks

    def save(self, path: str | Path) -> None:
        """Write these situations to the JSON file `path`."""
        table = {
            "families": dict(self.families),
            "known": list(self.known),
            "question_words": sorted(self.question_words),
            "openers": list(self.openers),
        }
        atomic_write_text(Path(path), json.dumps(table, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> KnownSituations:
        """Read a file written by `save`; ModelFileError if it is not one."""
        try:
            table = json.loads(Path(path).read_text(encoding="utf-8"))
            situations = cls(
                {str(k): str(v) for k, v in table["families"].items()},
                tuple(str(p) for p in table["known"]),
                frozenset(str(w) for w in table["question_words"]),
                tuple(str(o) for o in table["openers"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ModelFileError(f"cannot read the known situations {path}: {err}") from err
        if not situations.families or not situations.known or not situations.openers:
            raise ModelFileError(f"{path} names no families, known situations or openers")
        return situations
