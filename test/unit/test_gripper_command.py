"""Gripper commands in either unit: what is sent decodes to the width asked for; bad commands are refused."""

import math

import pytest

from spacetools_ros.core.gripper_command import check_unit, decode, encode


def test_both_units_carry_the_same_opening():
    assert encode(0.06, "width", 2) == [0.06]
    assert encode(0.06, "finger_position", 2) == [0.03, 0.03]
    for unit in ("width", "finger_position"):
        assert decode(encode(0.05, unit, 2), unit, 2, 0.08) == pytest.approx(0.05)


@pytest.mark.parametrize("data, unit", [
    ([0.03, 0.03], "width"), ([0.06], "finger_position"), ([0.01, 0.03], "finger_position"),
    ([math.nan], "width"), ([math.inf, math.inf], "finger_position"), ([0.09], "width"), ([-0.01], "width"),
    ([0.05, 0.05], "finger_position"), ([], "width"), ([0.0] * 100_000, "width"),
])
def test_bad_commands_are_refused(data, unit):
    with pytest.raises(ValueError):
        decode(data, unit, 2, 0.08)


def test_unknown_units_are_refused():
    for unit in ("Width", "position", ""):
        with pytest.raises(ValueError, match="gripper_command_unit"):
            check_unit(unit)
