"""The open-world evaluation set: deterministic, every object in view, and a held-out split that
shares no phrasing template, colour word, unknown noun or camera pose with the development split."""

from __future__ import annotations

import pytest

from spacetools_ros.evaluation.language import DEV, HELDOUT, vocabulary
from spacetools_ros.evaluation.openworld import CATEGORIES, image_u, make_case, visible


def test_the_splits_share_no_template_colour_word_noun_set_or_camera():
    assert not set(DEV.templates) & set(HELDOUT.templates)
    assert not set(DEV.colours) & set(HELDOUT.colours)
    assert not set(DEV.cameras) & set(HELDOUT.cameras)
    assert not set(DEV.unknown_nouns) & set(HELDOUT.unknown_nouns)
    with pytest.raises(ValueError):
        vocabulary("train")


@pytest.mark.parametrize("category", CATEGORIES)
def test_cases_are_deterministic_visible_and_name_real_objects(category):
    for split in ("dev", "heldout"):
        a, b = make_case(split, category, 2), make_case(split, category, 2)
        assert a.command == b.command and a.scene == b.scene
        assert visible(a.scene)
        if a.expect == "act":
            names = {o.name for o in a.scene.objects}
            assert {a.pick, a.anchor} <= names and (a.anchor2 is None or a.anchor2 in names)
        else:
            assert category == "refusals" and a.pick is None


def test_held_out_commands_use_held_out_words():
    for i in range(6):
        case = make_case("heldout", "phrasing", i)
        stems = [t.split("{pick}")[0].lower() for t in HELDOUT.templates]
        assert any(case.command.lower().startswith(s) for s in stems), case.command


def test_lookalike_cases_name_the_twin_that_the_words_pick():
    for i in range(6):
        case = make_case("heldout", "lookalikes", i)
        twin = case.pick + "_twin"
        left = image_u(case.scene, case.pick) < image_u(case.scene, twin)
        note = case.note
        if "second" in note:
            assert ("from the right" in note) == left
        else:
            assert ("left" in note) == left


def test_clutter_cases_have_many_objects_of_all_shapes():
    shapes, counts = set(), []
    for i in range(5):
        case = make_case("dev", "clutter", i)
        counts.append(len(case.scene.objects))
        shapes |= {o.shape for o in case.scene.objects}
    assert min(counts) >= 8 and shapes == {"box", "cylinder", "sphere", "bowl", "plate"}


def test_the_report_counts_per_shape_which_objects_the_arm_carried_in_clutter():
    from spacetools_ros.evaluation.run import summarize

    def row(shape, moved, ok):
        return {"split": "heldout", "category": "clutter", "success": ok, "agrees": True, "collateral": [],
                "total_s": 10.0, "pick_shape": shape, "pick_moved_m": moved}

    text = summarize([row("sphere", 0.2, True), row("sphere", 0.01, False), row("plate", 0.3, False)])
    assert "clutter, picked and carried by shape: plate 1/1, sphere 1/2" in text
    assert "heldout  clutter           3    33.3%" in text
