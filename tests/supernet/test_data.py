"""Data for super-networks: the digits split and users' own .npz arrays."""

from __future__ import annotations

import numpy as np
import pytest

from nas_search.errors import EvaluatorError
from nas_search.supernet.data import load_splits


def split(source, tmp_path, seed=0):
    return load_splits(source, tmp_path, seed=seed, validation=0.2, test=0.2, field="f")


def test_digits_split_is_disjoint_stratified_and_seeded(tmp_path):
    s = split("digits", tmp_path)
    assert s.image_shape == (1, 8, 8) and s.classes == 10
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (1077, 360, 360)
    train = {a.tobytes() for a in s.x_train}
    assert not train & {a.tobytes() for a in s.x_val}
    assert np.bincount(s.y_val).min() >= 35  # every class in validation
    assert abs(float(s.x_train.mean())) < 1e-5  # standardized on the training split
    again, other = split("digits", tmp_path), split("digits", tmp_path, seed=1)
    assert again.digest == s.digest and np.array_equal(again.x_val, s.x_val)
    assert other.digest != s.digest and not np.array_equal(other.y_val, s.y_val)


def test_user_arrays(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((50, 6, 6)), y=np.arange(50) % 5)
    s = split("d.npz", tmp_path)
    assert s.image_shape == (1, 6, 6) and s.classes == 5
    assert len(s.x_train) + len(s.x_val) + len(s.x_test) == 50


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 2, 2))}, r"f: .*d.npz: needs arrays 'x' and 'y', has \['x'\]"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4, int)}, r"x must be numbers shaped"),
        ({"x": np.zeros((4, 2, 2)), "y": np.zeros(3, int)}, r"y must be 4 non-negative integer"),
        ({"x": np.zeros((4, 2, 2)), "y": np.zeros(4)}, r"y must be 4 non-negative integer"),
        ({"x": np.full((4, 2, 2), np.nan), "y": np.zeros(4, int)}, r"x holds NaN"),
    ],
)
def test_bad_arrays_name_the_file_and_the_problem(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(EvaluatorError, match=message):
        split("d.npz", tmp_path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(EvaluatorError, match=r"f: no such file, got '.*nope.npz'"):
        split("nope.npz", tmp_path)
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(EvaluatorError, match=r"f: .*bad.npz: not a readable .npz"):
        split("bad.npz", tmp_path)
