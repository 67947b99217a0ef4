"""How `posegpt chat` and `posegpt serve` answer when not told otherwise. Their options'
defaults, `posegpt bench --chat-rows` and `tools/readme_examples.py` all read these, so what the
bench and the README report is what a user gets. (No heavy imports: the CLI reads it at start.)"""

from __future__ import annotations

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
#: An answer about a photo that leans to refusing and whose pose matches nobody there becomes
#: words with no pose (BENCHMARKS.md, "Declining someone who is not in the picture").
DECLINE_UNMATCHED = True


def default_refine(has_prior: bool) -> str:
    """How photo answers are refined when not told: DEFAULT_REFINE for a model with a pose
    prior, else "orient" (the blends need the prior)."""
    return DEFAULT_REFINE if has_prior else "orient"
