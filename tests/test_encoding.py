from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nas_search.domains import Choices, IntRange
from nas_search.encoding import (
    canonical_config,
    config_hash,
    config_problems,
    encode,
    validate_config,
    vector_hash,
)
from nas_search.space import Parameter, SearchSpace

SPACE = SearchSpace(
    "enc",
    [
        Parameter("depth", "integer", IntRange(2, 8, 3)),  # 2, 5, 8
        Parameter("embed", "ordinal", Choices((16, 24.5, 32))),
        Parameter("act", "categorical", Choices(("relu", 3, True))),
        Parameter("heads", "ordinal", Choices((1, 2, 4)), per_layer="depth"),
        Parameter("patch", "fixed", value=4),
    ],
    ["embed != 24.5 or max(heads) < 4"],
)


@st.composite
def vectors(draw):
    upper = SPACE.upper
    return np.array([draw(st.integers(0, int(u))) for u in upper])


@settings(max_examples=150, deadline=None)
@given(vectors())
def test_vector_config_vector_round_trip(vector):
    canonical = SPACE.canonical(vector)[0]
    config = SPACE.decode(vector)
    assert (encode(SPACE, config) == canonical).all()
    assert canonical_config(SPACE, config) == config
    assert config_hash(SPACE, config) == vector_hash(SPACE, vector)
    assert json.loads(json.dumps(config)) == config  # plain JSON types only


@settings(max_examples=100, deadline=None)
@given(vectors(), st.lists(st.integers(0, 2), min_size=8, max_size=8))
def test_inactive_layers_never_change_identity(vector, noise):
    depth = SPACE.decode(vector)["depth"]
    noisy = vector.copy()
    s = SPACE.slots["heads"]
    noisy[s.start + depth : s.stop] = noise[: s.stop - s.start - depth]
    assert vector_hash(SPACE, noisy) == vector_hash(SPACE, vector)


def test_hash_is_stable_across_processes():
    config = {"depth": 5, "embed": 24.5, "act": True, "heads": [1, 2, 4, 4, 1], "patch": 4}
    here = config_hash(SPACE, config)
    code = (
        "import sys; sys.path.insert(0, 'tests'); from test_encoding import SPACE;"
        "from nas_search.encoding import config_hash;"
        f"print(config_hash(SPACE, {config!r}))"
    )
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    for seed in ("0", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            capture_output=True,
            text=True,
            env={**env, "PYTHONHASHSEED": seed},
            check=True,
        )
        assert out.stdout.strip() == here
    assert here == "c9b492266df215b1"  # pinned: a change here breaks every saved candidate


def test_numbers_match_by_value_but_not_booleans():
    config = {"depth": 5.0, "embed": 16.0, "act": True, "heads": [1, 2.0, 4, 1, 1]}
    assert canonical_config(SPACE, config)["embed"] == 16
    _, problems = config_problems(SPACE, {**config, "act": 1})
    assert problems == ["act: must be one of 'relu', 3, True, got 1"]


def test_every_problem_is_listed():
    config = {"depth": 5, "embed": 20, "act": "tanh", "heads": [1, 3, 4], "patch": 8, "extra": 1}
    _, problems = config_problems(SPACE, config)
    assert problems == [
        "extra: not a parameter of space 'enc'",
        "embed: must be one of 16, 24.5, 32, got 20",
        "act: must be one of 'relu', 3, True, got 'tanh'",
        "heads: needs 5 values (depth = 5), got 3",
        "heads[1]: must be one of 1, 2, 4, got 3",
        "patch: is fixed at 4, got 8",
    ]
    _, missing = config_problems(SPACE, {"heads": 3})
    assert missing == [
        "depth: missing",
        "embed: missing",
        "act: missing",
        "heads: must be a list (one value per layer), got 3",
    ]


def test_constraints_are_problems_too():
    config = {"depth": 2, "embed": 24.5, "act": "relu", "heads": [4, 1]}
    vector, problems = validate_config(SPACE, config)
    assert vector is None
    assert problems == ["violates constraint 'embed != 24.5 or max(heads) < 4'"]
    vector, problems = validate_config(SPACE, {**config, "heads": [2, 1]})
    assert problems == [] and vector is not None
