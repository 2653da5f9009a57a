"""constraints: a table of constraints checks a dict of values once, and a failure is one line
naming the owner, the parameter, what was expected and what was given, keeping the key."""
import numpy as np
import pytest

from initlab.constraints import (Boolean, InstanceOf, Integer, Options, Optional, Pair, Real, Rule,
                                 SequenceOf, check)
from initlab.errors import InvalidValueError, UnknownNameError

TABLE = {"n": Integer(1), "p": Real(0, 1, high_open=True), "mode": Options(("zeros", "reflect")),
         "init": Options(("he_normal", "glorot_uniform"), kind="initializer"), "flag": Boolean(),
         "size": Pair(1), "depths": SequenceOf(Integer(1, 1000), item_name="depth", unique=True),
         "steps": Optional(Integer(0)), "data": InstanceOf(dict, "a dict")}


def test_good_values_are_normalized():
    out = check("Thing", TABLE, {"n": np.int64(3), "p": 0, "size": 3, "depths": [2, 5], "flag": np.bool_(True),
                                 "steps": None, "other": "kept"})
    assert out == {"n": 3, "p": 0.0, "size": (3, 3), "depths": (2, 5), "flag": True, "steps": None, "other": "kept"}
    assert type(out["n"]) is int and type(out["p"]) is float


@pytest.mark.parametrize("values, error, message, param", [
    ({"n": 0}, InvalidValueError, "Thing n: expected an integer >= 1, got 0", "n"),
    ({"n": True}, InvalidValueError, "Thing n: expected an integer >= 1, got True", "n"),
    ({"p": 1.0}, InvalidValueError, "Thing p: expected a value in [0, 1), got 1", "p"),
    ({"p": float("nan")}, InvalidValueError, "Thing p: expected a finite real number, got nan", "p"),
    ({"mode": "mirror"}, InvalidValueError, "Thing mode: expected 'zeros' or 'reflect', got 'mirror'", "mode"),
    ({"init": "he_norml"}, UnknownNameError, "did you mean 'he_normal'?", "init"),
    ({"flag": 1}, InvalidValueError, "Thing flag: expected True or False, got 1", "flag"),
    ({"size": (2, 0)}, InvalidValueError, "Thing size: expected values >= 1, got (2, 0)", "size"),
    ({"depths": [3, 0]}, InvalidValueError, "Thing depth: expected an integer from 1 to 1000, got 0", "depths"),
    ({"depths": [3, 3]}, InvalidValueError, "Thing depth: expected each item once, got 3 twice", "depths"),
    ({"depths": []}, InvalidValueError, "Thing depths: expected at least one item", "depths"),
    ({"steps": -1}, InvalidValueError, "Thing steps: expected an integer >= 0, got -1", "steps"),
    ({"data": [1]}, InvalidValueError, "Thing data: expected a dict, got list", "data"),
])
def test_a_bad_value_is_one_line_naming_owner_parameter_expected_and_given(values, error, message, param):
    with pytest.raises(error) as info:
        check("Thing", TABLE, values)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert info.value.param == param
    assert str(info.value).endswith(info.value.detail)


def test_a_rule_across_parameters_blames_its_parameter():
    rule = Rule("batch_size", lambda v: None if v["batch_size"] <= v["n"] else
                f"expected at most n={v['n']}, got {v['batch_size']}")
    assert check("fit", {"n": Integer(1)}, {"n": 4, "batch_size": 4}, (rule,))["batch_size"] == 4
    with pytest.raises(InvalidValueError, match=r"^fit batch_size: expected at most n=4, got 5$") as info:
        check("fit", {"n": Integer(1)}, {"n": 4, "batch_size": 5}, (rule,))
    assert info.value.param == "batch_size" and info.value.detail == "expected at most n=4, got 5"
