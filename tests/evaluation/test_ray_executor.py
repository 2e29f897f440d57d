"""The Ray executor beyond the executor contract (test_executor_contract.py), on the local Ray
instance of the ``local_ray`` fixture: resources the cluster lacks are a one-line error."""

from __future__ import annotations

import pytest

from nas_search.config import load_space_file
from nas_search.errors import UsageError
from nas_search.evaluation.executor import payload_of

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
from nas_search.evaluation.ray_executor import RayPool  # noqa: E402


@pytest.fixture(autouse=True)
def _ray(local_ray):
    return local_ray


def test_resources_the_cluster_lacks(write_space):
    definition = load_space_file(write_space())
    with pytest.raises(UsageError, match=r"search.num_gpus: 2 workers x 1 GPU need 2; the Ray "):
        RayPool(payload_of(definition), ["score", "cost"], 2, num_gpus=1)
    with pytest.raises(UsageError, match=r"search.num_cpus: 3 workers x 1 CPU need 3; .* has 2"):
        RayPool(payload_of(definition), ["score", "cost"], 3)
