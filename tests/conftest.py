"""Shared fixtures: the registered environment IDs, the test disease included.

``tests.glucose`` is registered through ``CLINSIM_EXTRA_DISEASES`` before clinsim is imported, so every
registry-wide test sweeps it too: adding a disease needs no edit outside its folder.
"""

import os

os.environ["CLINSIM_EXTRA_DISEASES"] = ",".join(
    filter(None, [*os.environ.get("CLINSIM_EXTRA_DISEASES", "").split(","), "tests.glucose"]))

import pytest  # noqa: E402

import clinsim  # noqa: E402

ENV_IDS = clinsim.ENV_IDS


@pytest.fixture(params=ENV_IDS)
def env_id(request) -> str:
    return request.param
