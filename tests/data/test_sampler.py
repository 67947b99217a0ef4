from collections import Counter

import pytest

from posegpt.data.sampler import MixtureSampler, apportion, task_weights
from posegpt.errors import InvalidInputError

SIZES = {"text2pose": 50, "image2pose": 30, "rpe": 7, "speculative": 5, "instruction": 13}
GROUP = {
    "text2pose": "text",
    "speculative": "text",
    "image2pose": "image",
    "rpe": "image",
    "instruction": "instruction",
}


def tasks_of(sampler: MixtureSampler, batch: list[int]) -> Counter:
    starts = sorted(sampler.offsets.items(), key=lambda kv: -kv[1])
    return Counter(next(t for t, o in starts if i >= o and sampler.sizes[t]) for i in batch)


def test_every_batch_follows_2_1_1():
    sampler = MixtureSampler(SIZES, batch_size=16, seed=0, num_batches=50)
    for batch in sampler:
        assert len(batch) == 16
        groups = Counter()
        for task, n in tasks_of(sampler, batch).items():
            groups[GROUP[task]] += n
        assert groups == {"image": 8, "text": 4, "instruction": 4}


@pytest.mark.parametrize("batch_size", [1, 3, 7, 10])
def test_mix_over_many_batches_matches_weights(batch_size):
    sampler = MixtureSampler(SIZES, batch_size=batch_size, seed=1, num_batches=400)
    counts = Counter()
    for batch in sampler:
        counts.update(tasks_of(sampler, batch))
    total = sum(counts.values())
    expected = {"image2pose": 0.375, "rpe": 0.125, "text2pose": 0.1875, "speculative": 0.0625}
    expected["instruction"] = 0.25
    for task, share in expected.items():
        assert abs(counts[task] - share * total) <= 1  # running totals stay within one item


def test_seeded_and_epochs_differ():
    a = list(MixtureSampler(SIZES, 8, seed=3))
    assert a == list(MixtureSampler(SIZES, 8, seed=3))
    assert a != list(MixtureSampler(SIZES, 8, seed=4))
    sampler = MixtureSampler(SIZES, 8, seed=3)
    sampler.set_epoch(1)
    assert list(sampler) != a


def test_items_drawn_without_replacement_within_a_pass():
    sampler = MixtureSampler({"instruction": 10}, batch_size=5, num_batches=2)
    drawn = [i for batch in sampler for i in batch]
    assert sorted(drawn) == list(range(10))


def test_missing_tasks_leave_their_share_to_the_others():
    shares = task_weights({"text2pose": 3, "image2pose": 0, "instruction": 1})
    assert shares == {"text2pose": 0.5, "instruction": 0.5}
    shares = task_weights({"text2pose": 1, "speculative": 1, "rpe": 4})
    assert shares["rpe"] == pytest.approx(2 / 3) and shares["speculative"] == pytest.approx(1 / 12)
    one_item = MixtureSampler({"text2pose": 1, "instruction": 2}, batch_size=4, num_batches=3)
    assert all(len(b) == 4 for b in one_item)


def test_custom_weights_and_sub_weights():
    sampler = MixtureSampler(
        SIZES,
        batch_size=10,
        groups={"image2pose": 1, "text2pose": 1},
        sub_weights={"image2pose": {"rpe": 1}, "text2pose": {"speculative": 1}},
        num_batches=5,
    )
    for batch in sampler:
        assert tasks_of(sampler, batch) == {"rpe": 5, "speculative": 5}


def test_apportion_sums_to_total():
    given = {"a": 0, "b": 0, "c": 0}
    for _ in range(30):
        counts = apportion(3, {"a": 0.5, "b": 0.3, "c": 0.2}, given)
        assert sum(counts.values()) == 3
        for k, v in counts.items():
            given[k] += v
    assert given == {"a": 45, "b": 27, "c": 18}


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="no task"):
        MixtureSampler({"text2pose": 0}, 4)
    with pytest.raises(InvalidInputError, match="batch_size"):
        MixtureSampler(SIZES, 0)
    with pytest.raises(InvalidInputError, match="negative"):
        MixtureSampler(SIZES, 4, groups={"text2pose": -1})
