"""Readings perception leaves open near its thresholds: a box with clipped corners may be the cube a
person names (used only when no object fits exactly); a colour light can shift is asked about."""

from __future__ import annotations

import numpy as np

from spacetools_ros.backends.perception.describe import color_name, other_colors, other_shapes
from spacetools_ros.backends.perception.tabletop import DetectedObject
from spacetools_ros.backends.pointing.referring import ground, parse_reference, resolve


def _obj(i: int, color: str, shape: str, circ: float, rgb=(200, 40, 30), u: int = 100) -> DetectedObject:
    mask = np.zeros((60, 400), bool)
    mask[20:30, u:u + 10] = True
    o = DetectedObject(i, mask, np.zeros((100, 3)), np.array([0.0, 0.0, 1.0]), 0.045, np.array(rgb, float), (u + 5, 25),
                       100, np.zeros(2), np.array([0.045, 0.044]), 0.0, circ, 0.9, 0.0, 0.01, 0.03)
    o.color, o.shape = color, shape
    o.maybe_shapes = other_shapes(o)
    o.maybe_colors = other_colors(o.rgb_median)
    return o


def test_a_box_read_near_the_threshold_keeps_the_other_reading_open():
    assert "box" in _obj(0, "red", "cylinder", 0.84).maybe_shapes
    assert "box" not in _obj(0, "red", "cylinder", 0.70).maybe_shapes


def test_the_other_reading_is_used_only_when_nothing_fits_exactly():
    clipped_box = _obj(0, "red", "cylinder", 0.84, u=50)
    assert ground(parse_reference("red cube"), [clipped_box]) == [clipped_box]
    real_box = _obj(1, "red", "box", 0.97, u=250)
    assert ground(parse_reference("red cube"), [clipped_box, real_box]) == [real_box]
    assert ground(parse_reference("red cube"), [_obj(0, "red", "cylinder", 0.70)]) == []


def test_a_colour_light_can_shift_is_asked_about_not_assumed():
    dim_orange = np.array([150.0, 75.0, 10.0])
    assert color_name(dim_orange) == "brown" and "orange" in other_colors(dim_orange)
    bowl = _obj(0, "brown", "bowl", 0.8, rgb=dim_orange)
    res = resolve(parse_reference("orange bowl"), [bowl])
    assert not res.objects and "do you mean the brown bowl" in res.question
