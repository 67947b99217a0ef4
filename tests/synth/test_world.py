"""The world tables: families checked on their own samples, the loader's refusals, and the
situations' seen / unseen split."""

import pytest

from posegpt.body import load_body_model
from posegpt.errors import InvalidInputError
from posegpt.eval.predicates import parse
from posegpt.synth.pose_families import FAMILY_INFO, WORLD, Family
from posegpt.synth.poses import PoseGenerator
from posegpt.synth.speculative import SITUATIONS, Situation, spg_split
from posegpt.synth.world import load_world_families, load_world_situations

#: Samples of each family, and how many of them each check must hold on: the noise on every joint
#: pushes a few samples past a check's edge (a quarter of the bridges' pelvises drop below the
#: head), so a check holds on most samples, not on all.
SAMPLES, HELD = 40, 28
#: Hand-written families (52) and situations (66) before the tables: the world is >= 3x / 10x.
CORE_FAMILIES, CORE_SITUATIONS = 52, 66


def test_the_world_is_three_times_the_families_and_ten_times_the_situations():
    assert len(FAMILY_INFO) >= 3 * CORE_FAMILIES
    assert len(SITUATIONS) >= 10 * CORE_SITUATIONS
    groups = {f.group for f in FAMILY_INFO.values()}
    assert {"sport", "dance", "yoga", "martial_arts", "work", "music", "children"} <= groups
    assert {"elderly", "injuries", "sleeping", "everyday"} <= groups
    assert all(len(set(s.phrasings)) >= 2 for s in SITUATIONS)


@pytest.mark.slow
def test_every_table_family_satisfies_its_checks_on_its_samples():
    body = load_body_model()
    failed = []
    for name in sorted(WORLD.checks):
        # a stream of its own per family: a family added to the table changes no other's samples
        samples = PoseGenerator(seed=5, body=body).sample_many(SAMPLES, family=name)
        for check in WORLD.checks[name]:
            held = 0
            for s in samples:
                side = s.params.get("side", "left")
                other = "right" if side == "left" else "left"
                held += parse(check.format(side=side, other=other))(s.joints)
            if held < HELD:
                failed.append((name, check, held))
    assert not failed
    assert all(WORLD.checks[n] for n in WORLD.checks)  # every family states its geometry


def test_unseen_situations_are_unseen_activities():
    splits = spg_split(0)
    train = {s.group for s in splits["train"].situations}
    for name in ("val", "test"):
        assert not train & {s.group for s in splits[name].situations}
    variants = [s for s in SITUATIONS if s.base]
    assert variants and all(any(b.name == s.base for b in SITUATIONS) for s in variants)


def _families(tmp_path, text: str):
    path = tmp_path / "families.yaml"
    path.write_text(text)
    return load_world_families(Family, FAMILY_INFO, path)


def test_the_family_loader_refuses_bad_rows(tmp_path):
    row = "families:\n  - {name: %s, phrase: p, group: g, imperative: [%s], joints: {knee: %s}%s}\n"
    ok = _families(tmp_path, row % ("new_one", "do it", "[0, 0, [10, 20]]", ""))
    assert ok.families[0].joints["knee"] == (0.0, 0.0, (10.0, 20.0))
    with pytest.raises(InvalidInputError, match="defined twice"):
        _families(tmp_path, row % ("squatting", "do it", "[0, 0, 10]", ""))
    with pytest.raises(InvalidInputError, match="three values"):
        _families(tmp_path, row % ("new_one", "do it", "[0, 10]", ""))
    with pytest.raises(InvalidInputError, match="names a side"):
        _families(tmp_path, row % ("new_one", "'use your {side} leg'", "[0, 0, 10]", ""))
    with pytest.raises(InvalidInputError, match="sided phrase"):
        _families(tmp_path, row % ("new_one", "do it", "[0, 0, 10]", ", side: left"))


def test_situation_settings_join_phrasings_and_keep_the_activity(tmp_path):
    path = tmp_path / "situations.yaml"
    path.write_text(
        "settings: {rain: [in the rain, on a wet day]}\neverywhere: []\n"
        "activities:\n  - [strolling_on, activity, walking, [strolling, ambling along], [rain]]\n"
    )
    plain, rainy = load_world_situations(Situation, path)
    assert plain.group == rainy.group == "strolling_on" and rainy.name == "strolling_on_in_rain"
    assert rainy.phrasings == (
        "strolling in the rain", "strolling on a wet day",
        "ambling along in the rain", "ambling along on a wet day",
    )  # fmt: skip
    path.write_text(path.read_text().replace("[rain]]", "[snow]]"))
    with pytest.raises(InvalidInputError, match="unknown setting"):
        load_world_situations(Situation, path)
