"""Shared fixtures: the registered environment IDs."""

import pytest

import clinsim

ENV_IDS = clinsim.ENV_IDS


@pytest.fixture(params=ENV_IDS)
def env_id(request) -> str:
    return request.param
