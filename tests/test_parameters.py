"""Parameter tables: ranges are enforced, sampling stays inside them, docs tables are complete."""

import numpy as np
import pytest

import clinsim
from clinsim.core.parameters import Parameter, ParameterRangeError, ParameterSet
from clinsim.immunosim.cart_models import CART_PARAMETERS
from clinsim.immunosim.models import CHECKPOINT_PARAMETERS, CheckpointModel, KuznetsovModel

# every parameter table of every registered disease (the registry's PARAMETER_MODULES, as `clinsim params`)
ALL_SETS = list({id(v): v for module in clinsim.PARAMETER_MODULES for v in vars(module).values()
                 if isinstance(v, ParameterSet)}.values())


def test_every_disease_table_is_swept() -> None:
    names = {p.name for p in ALL_SETS}
    assert {CHECKPOINT_PARAMETERS.name, CART_PARAMETERS.name} <= names
    assert any("test disease" in n for n in names) and len(names) >= 6


@pytest.mark.parametrize("pset", ALL_SETS, ids=lambda p: p.name)
def test_every_parameter_has_unit_range_and_source(pset: ParameterSet) -> None:
    for p in pset:
        assert p.unit and p.source and p.description
        assert p.low <= p.value <= p.high


@pytest.mark.parametrize("pset", ALL_SETS, ids=lambda p: p.name)
def test_cohort_samples_stay_in_range(pset: ParameterSet) -> None:
    rng = np.random.default_rng(0)
    samples = np.stack([pset.sample(rng) for _ in range(500)])
    assert not pset.violations(samples)
    varied = [p.cv > 0 for p in pset]
    assert (samples.std(axis=0)[varied] > 0).all()


def test_out_of_range_value_is_rejected_with_the_valid_range() -> None:
    with pytest.raises(ParameterRangeError, match=r"a=5 1/day outside \[0.09, 0.36\]"):
        KuznetsovModel({"a": 5.0})
    model = KuznetsovModel({"a": 5.0}, allow_out_of_range=True)
    source = KuznetsovModel.parameters["a"].source
    assert model.validate_parameters() == [f"a=5 1/day outside [0.09, 0.36] ({source})"]
    with pytest.raises(KeyError, match="valid: s, p, g"):
        KuznetsovModel({"kill_rate": 1.0})
    with pytest.raises(ParameterRangeError):
        CheckpointModel({"ec50_pd1": float("nan")}, allow_out_of_range=True)


def test_published_value_outside_declared_range_is_a_definition_error() -> None:
    with pytest.raises(ParameterRangeError):
        Parameter("x", 2.0, "1/day", 0.0, 1.0, "test", "bad")


def test_joint_constraints_are_enforced() -> None:
    import gymnasium as gym

    with pytest.raises(ParameterRangeError, match="phi < rho"):
        gym.make("immunosim/CARTCell-v1", parameters={"phi": 0.5, "rho": 0.2})
    assert "phi < rho" in CART_PARAMETERS.markdown_table()


def test_markdown_table_lists_every_parameter() -> None:
    table = CHECKPOINT_PARAMETERS.markdown_table()
    for p in CHECKPOINT_PARAMETERS:
        assert f"`{p.name}`" in table
