"""How UpdateShardCount turns into SplitShard / MergeShards steps, and AWS's validation."""

import itertools

import pytest

from pipeline import capacity
from pipeline.local.aws.errors import AwsError
from pipeline.local.aws.resharding import check_step_size, next_step, validation_errors


def run_plan(count: int, target: int) -> tuple[list[tuple[int, int]], int]:
    """Apply the plan to an in-memory shard map; return the open ranges and the step count."""
    ids = itertools.count()
    shards = {f"s{next(ids)}": r for r in capacity.even_hash_ranges(count)}
    steps = 0
    while (step := next_step([(k, a, b) for k, (a, b) in shards.items()], target)) is not None:
        steps += 1
        operation, args = step
        if operation == "SplitShard":
            start, end = shards.pop(args["ShardToSplit"])
            boundary = int(args["NewStartingHashKey"])
            shards[f"s{next(ids)}"] = (start, boundary - 1)
            shards[f"s{next(ids)}"] = (boundary, end)
        else:
            left = shards.pop(args["ShardToMerge"])
            right = shards.pop(args["AdjacentShardToMerge"])
            assert left[1] + 1 == right[0], "only adjacent shards merge"
            shards[f"s{next(ids)}"] = (left[0], right[1])
        assert steps < 100
    return sorted(shards.values()), steps


@pytest.mark.parametrize(
    ("count", "target", "steps"), [(2, 4, 2), (4, 2, 2), (1, 2, 1), (2, 1, 1), (3, 5, None)]
)
def test_plan_ends_at_even_ranges(count, target, steps):
    ranges, taken = run_plan(count, target)
    assert ranges == capacity.even_hash_ranges(target)
    if steps is not None:
        assert taken == steps  # a double or a half splits or merges each shard once


def test_more_than_double_and_less_than_half_are_refused():
    with pytest.raises(AwsError) as up:
        check_step_size(2, 5)
    assert up.value.code == "LimitExceededException"
    assert up.value.message == (
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 2, Target shard count: 5"
    )
    with pytest.raises(AwsError) as down:
        check_step_size(5, 2)
    assert "cannot scale down below half" in down.value.message
    check_step_size(5, 3)  # 3 is not below 2.5
    check_step_size(2, 4)


def test_validation_names_each_bad_member():
    assert validation_errors({"TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"}) == []
    errors = validation_errors({"TargetShardCount": 0, "ScalingType": "X"})
    assert errors == [
        "Value '0' at 'targetShardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
        "Value 'X' at 'scalingType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [UNIFORM_SCALING]",
    ]
