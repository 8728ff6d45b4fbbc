"""The tags explanation names only what describes both tracks more than the collection's typical track: a tag
the tagger gives every clip of a catalog (MagnaTagATune's "sitar" on chiptune) is never offered as a reason."""
import numpy as np
import pytest
from django.utils import translation

from explanations import drawing, tags


def test_a_tag_every_track_of_the_catalog_has_is_not_named_however_strong():
    names = ["sitar", "synth", "piano"]
    catalog = np.array([[0.6, 0.05, 0.01], [0.55, 0.1, 0.02], [0.7, 0.04, 0.3], [0.65, 0.08, 0.01]])
    typical = tags.catalog_medians(catalog)
    assert typical == pytest.approx([0.625, 0.065, 0.015])
    rows = tags.tag_rows(names, [0.7, 0.4, 0.02], [0.68, 0.35, 0.5], typical)
    shared = [r.tag for r in rows if r.heard_in_both]
    assert shared == ["synth"]  # sitar is everywhere here; piano is only in one of the two
    assert tags.sentence(rows) == "Both sound more than most tracks here like: synth."
    sitar = next(r for r in rows if r.tag == "sitar")
    assert sitar.threshold == pytest.approx(2 * 0.625) and not sitar.heard_in_both


def test_without_a_catalog_a_tag_needs_the_plain_minimum_in_both():
    rows = tags.tag_rows(["guitar", "drums"], [0.12, 0.5], [0.3, 0.09])
    assert [r.tag for r in rows if r.heard_in_both] == ["guitar"]
    assert all(r.threshold == tags.SHARED_MIN_PROBABILITY for r in rows)


def test_when_nothing_stands_out_it_says_so_in_the_participant_s_language():
    rows = tags.tag_rows(["sitar"], [0.6], [0.6], [0.62])
    assert not rows[0].heard_in_both
    with translation.override("de"):
        text = tags.sentence(rows, translation.gettext)
    assert text.startswith("Das Tagging-Modell hört kein Schlagwort in beiden Titeln deutlich stärker")


def test_the_chart_marks_each_tag_s_own_threshold():
    rows = tags.tag_rows(["sitar", "synth"], [0.7, 0.4], [0.68, 0.35], [0.6, 0.05])
    drawn = drawing.tags_drawing(rows, 0.42, liked_title="a", recommended_title="b")
    # A tag the typical track already has at 60 % could stand out only past 120 %: its line sits at the end.
    assert sorted(row["threshold"] for row in drawn["rows"]) == sorted(min(100.0, round(100 * r.threshold, 2)) for r in rows)
    assert sorted(row["threshold_printed"] for row in drawn["rows"]) == ["10%", "120%"]


def test_the_vocabulary_report_puts_the_tags_most_tracks_get_first():
    names = ["sitar", "synth", "piano", "drums"]
    probabilities = np.array([[0.9, 0.5, 0.1, 0.3], [0.8, 0.2, 0.6, 0.1], [0.7, 0.6, 0.05, 0.5], [0.95, 0.1, 0.2, 0.45]])
    usage = tags.vocabulary_usage(names, probabilities, count=2)
    assert [u.tag for u in usage] == ["sitar", "drums"]  # sitar in every top 3; drums and synth in 3 of 4, drums higher
    assert usage[0].top_share == 1.0 and usage[0].median == pytest.approx(0.85)
    assert tags.vocabulary_usage(names, np.empty((0, 4))) == []


def test_a_tag_both_taggers_know_is_charted_once_as_the_tagger_hearing_it_more_clearly():
    names = ["rock", "synth", "rock", "jazz"]  # MTT's rock, then MSD's
    rows = tags.tag_rows(names, [0.3, 0.5, 0.8, 0.01], [0.35, 0.4, 0.7, 0.02], [0.1, 0.05, 0.2, 0.01])
    rock = [r for r in rows if r.tag == "rock"]
    assert len(rock) == 1 and rock[0].liked == 0.8 and rock[0].typical == 0.2
    assert tags.sentence(rows) == "Both sound more than most tracks here like: synth, rock."  # synth stands out 4x, rock 1.75x


def test_the_vocabulary_report_lists_a_tag_both_taggers_know_once():
    names = ["rock", "piano", "rock"]
    probabilities = np.array([[0.9, 0.1, 0.2], [0.8, 0.2, 0.3]])
    assert [u.tag for u in tags.vocabulary_usage(names, probabilities)] == ["rock", "piano"]
