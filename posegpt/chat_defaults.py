"""How `posegpt chat` and `posegpt serve` answer when not told otherwise, and `AnswerOptions`,
the options that say how. Their flags' defaults, `posegpt bench --chat-rows` and
`tools/readme_examples.py` all read these, so what the bench and the README report is what a user
gets. (No heavy imports: the CLI reads it at start.)"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn  # a BodyModel (`posegpt.body`, a layer above this one)

#: How photo answers of a model with a pose prior are refined: of the refinement modes
#: (`posegpt.model.pose_tower.fit.REFINE_MODES`), the one that lowered val crops and partial
#: crops against "orient" within 2 mm and 1 point of its RPE (BENCHMARKS.md, "Photo answers
#: blended for one person").
DEFAULT_REFINE = "auto-blend"
#: A request that names one side only is answered without the other side's word (BENCHMARKS.md,
#: "Keeping the side a request names").
KEEP_SIDES = True
#: Each step of a sequence is asked alone when the reply has as many poses as steps
#: (BENCHMARKS.md, "Each step of a sequence asked alone").
STEPS_ALONE = True
#: A words-only request whose words say how many poses ("two ways", "then") gets that many, one
#: with no sign of more (BENCHMARKS.md, "Poses counted from the words", "One pose unless the words
#: ask for more").
COUNT_FROM_WORDS = True
#: A words-only message that is no question and gets no pose ("cobra") is asked again for its
#: pose (BENCHMARKS.md, "Terse requests asked again").
ASK_AGAIN = True
#: A question about a photo of someone that gets words only and does not lean to refusing is
#: asked again for its pose (BENCHMARKS.md, "Photo questions asked again").
PHOTO_ASK_AGAIN = True
#: An answer about a photo that leans to refusing and whose pose matches nobody there becomes
#: words with no pose (BENCHMARKS.md, "Declining someone who is not in the picture").
DECLINE_UNMATCHED = True
#: A words-only answer in the speculative style about a situation the model never learned is the
#: answer to a request for the pose family MiniLM finds nearest it: off, as its val gain did not
#: carry to the test situations (BENCHMARKS.md, "Not chat's default: situations the model never
#: learned answered with MiniLM's nearest family").
ROUTE_SITUATIONS = False
#: A words-only answer to a request for one pose that names no body part is the answer to a
#: request for the pose family MiniLM finds nearest the request, when that family is clearly
#: nearer than the answer's words: off, as its development gain did not carry to the test items
#: (BENCHMARKS.md, "Not chat's default: a request's nearest family").
NEAREST_FAMILY = False


def default_refine(has_prior: bool) -> str:
    """How photo answers are refined when not told: DEFAULT_REFINE for a model with a pose
    prior, else "orient" (the blends need the prior)."""
    return DEFAULT_REFINE if has_prior else "orient"


@dataclass(frozen=True)
class AnswerOptions:
    """How `PoseGPT.chat` answers beyond decoding: its keyword arguments of the same names (see
    there). Built with no arguments: the model's own answers, every option off; `chat_options`:
    as `posegpt chat` answers. `refine`: how photo answers are refined to the BlazePose
    landmarks, None for not at all."""

    refine: str | None = None
    repetition_penalty: float = 1.0
    decline_unmatched: bool = False
    keep_sides: bool = False
    steps_alone: bool = False
    count_from_words: bool = False
    ask_again: bool = False
    photo_ask_again: bool = False
    route_situations: bool = False
    nearest_family: bool = False

    def chat_kwargs(self, body: nn.Module | None) -> dict[str, object]:
        """`PoseGPT.chat`'s keyword arguments for these options, `body` (a body model) refining
        photo answers (none without one)."""
        refined = self.refine is not None and body is not None
        return {
            **asdict(self),
            "refine_with": body if refined else None,
            "refine": self.refine if refined else "fit",
        }


#: The options that are on or off.
CHAT_SWITCHES = tuple(f.name for f in fields(AnswerOptions) if f.type in ("bool", bool))

#: The model's own answers: every option off.
OWN_ANSWERS = AnswerOptions()


def chat_options(has_prior: bool) -> AnswerOptions:
    """The options `posegpt chat` answers with when not told, for a model with (or without) a
    pose prior."""
    return AnswerOptions(
        refine=default_refine(has_prior),
        decline_unmatched=DECLINE_UNMATCHED,
        keep_sides=KEEP_SIDES,
        steps_alone=STEPS_ALONE,
        count_from_words=COUNT_FROM_WORDS,
        ask_again=ASK_AGAIN,
        photo_ask_again=PHOTO_ASK_AGAIN,
        route_situations=ROUTE_SITUATIONS,
        nearest_family=NEAREST_FAMILY,
    )
