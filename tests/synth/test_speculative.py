import re

import numpy as np
import pytest

from posegpt.errors import InvalidInputError
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.speculative import (
    QUERY_TEMPLATES,
    SITUATIONS,
    SPG_SPLITS,
    Situation,
    check_lexicon,
    speculative_conversation,
    speculative_query,
    spg_split,
)


def test_lexicon_is_large_and_every_family_exists():
    assert len(SITUATIONS) >= 60
    assert len(QUERY_TEMPLATES) >= 25
    for situation in SITUATIONS:
        assert situation.families and all(f in FAMILY_INFO for f in situation.families)
        assert len(situation.phrasings) >= 3
    names = ("proposing marriage", "exhausted after a marathon", "hailing a taxi")
    phrasings = {p for s in SITUATIONS for p in s.phrasings}
    assert all(n in phrasings for n in names)


def test_check_lexicon_rejects_unknown_family_and_single_phrasing():
    bad = Situation("x", "activity", ("no_such_family",), ("a", "b"))
    with pytest.raises(InvalidInputError, match="no_such_family"):
        check_lexicon((bad,))
    with pytest.raises(InvalidInputError, match="two phrasings"):
        check_lexicon((Situation("y", "activity", ("waving",), ("a",)),))


def test_splits_hold_out_situations_templates_and_phrasings():
    splits = spg_split(0)
    assert set(splits) == set(SPG_SPLITS)
    train, val, test, seen = (splits[s] for s in SPG_SPLITS)
    names = {s: {x.name for x in splits[s].situations} for s in SPG_SPLITS}
    assert not names["train"] & names["val"]
    assert not names["train"] & names["test"]
    assert not names["val"] & names["test"]
    assert names["train"] | names["val"] | names["test"] == {s.name for s in SITUATIONS}
    assert names["test_seen"] == names["train"]
    for a, b in ((train, val), (train, test), (val, test)):
        assert not set(a.templates) & set(b.templates)
    assert seen.templates == test.templates
    for name in names["train"]:
        assert not set(train.phrasings[name]) & set(seen.phrasings[name])
        assert seen.phrasings[name]
    assert spg_split(0)["val"].situations == val.situations
    assert spg_split(1)["val"].situations != val.situations


def _fill_template_pattern(template: str) -> re.Pattern:
    fields = r"\{(who|Who|pron|poss|situation)\}"
    literal = re.split(fields, template)
    return re.compile(
        "^" + "".join(re.escape(p) if i % 2 == 0 else ".+" for i, p in enumerate(literal)) + "$"
    )


def test_queries_use_only_their_splits_wordings():
    rng = np.random.default_rng(0)
    splits = spg_split(0)
    for name in SPG_SPLITS:
        split = splits[name]
        for situation in split.situations[:8]:
            query = speculative_query(situation, rng, split)
            assert "{" not in query and "}" not in query
            assert any(_fill_template_pattern(t).match(query) for t in split.templates)
            allowed = [p.split("{")[0] for p in split.phrasings[situation.name]]
            assert any(prefix in query for prefix in allowed)
    unseen = splits["val"].situations[0]
    with pytest.raises(InvalidInputError, match="not in the train split"):
        speculative_query(unseen, rng, splits["train"])


def test_speculative_conversation_guesses_the_behaviour_then_gives_the_pose():
    pose = np.eye(3, dtype=np.float32)[None].repeat(24, 0)
    split = spg_split(0)["train"]
    situation = split.situations[0]
    spg = speculative_conversation(situation, "kneeling", pose, np.random.default_rng(1), split)
    assert spg.task == "speculative" and len(spg.poses) == 1
    assert "kneeling" in spg.messages[1].content and spg.meta["situation"] == situation.name
