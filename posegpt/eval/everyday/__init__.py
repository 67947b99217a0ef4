"""The everyday benchmark: requests worded as people write them, scored on the answer's poses.

`requests.jsonl` (held out: written apart from the training templates, never trained or tuned
on) holds single-pose requests, multi-pose requests and questions that want no pose, each with
the number of poses the answer must hold and geometric predicates (`posegpt.eval.predicates`)
on each pose. `items` reads it, `naming` finds the pose family a reply's words name, `score`
scores a method's answers.
"""
