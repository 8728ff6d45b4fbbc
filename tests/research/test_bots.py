"""Pilot bots go through the real pages of every condition, are marked pilot, and feed the exports and the
analysis, which leave them out unless asked."""
import csv
import io
import json

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from research.bots import bots_run
from study.models import Participant, Response

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _unpaced(unpaced_bots):
    """Bots here need not pace their player events (research.bots keeps below the flood limit for real runs)."""


def test_bots_finish_in_every_condition_as_pilots_and_answer_by_their_pattern(study):
    run = bots_run(study=study, n=4, pattern="careful", seed=1)
    assert [r.error for r in run.results] == [""] * 4
    assert run.count("completed") == 4 and not run.missed_conditions
    assert set(run.by_condition) == {"features", "spectrogram", "both", "control"}
    bots = Participant.objects.filter(study=study)
    assert bots.count() == 4 and all(bots.values_list("is_pilot", flat=True))
    # Careful bots pass the attention check and name what their condition showed.
    for participant in bots.select_related("assignment__condition"):
        attention = participant.responses.get(item__check_kind="attention")
        assert attention.item.correct_value is None  # drawn per participant, never a scale's end
        assert attention.value == participant.instructed["attention_check"]
        manipulation = participant.responses.get(item__check_kind="manipulation")
        assert manipulation.value == {"features": 1, "spectrogram": 2, "both": 3, "none": 4}[participant.condition.explanation]


def test_straightlining_bots_give_one_answer_everywhere_and_leavers_stop_midway(study):
    run = bots_run(study=study, n=4, pattern="straightline", dropout=0.5, seed=4)
    assert not [r.error for r in run.results if r.error]
    left = [r for r in run.results if r.left_on]
    assert left and all(r.page != "done" for r in left)
    # The monitor shows the pilots who left as dropped out at once, not after an hour of silence.
    from research.monitor import study_monitor

    monitor = study_monitor(study=study, include_pilot=True)
    assigned_and_left = [r for r in left if r.condition]
    assert assigned_and_left  # at least one left after being randomised
    assert sum(c.dropped for c in monitor.conditions) == len(assigned_and_left)
    assert sum(c.in_progress for c in monitor.conditions) == 0
    assert sum(monitor.dropout_by_page.values()) == len(assigned_and_left)
    for result in run.results:
        if result.completed:
            likert = set(Response.objects.filter(participant_id=result.participant_id, item__kind="likert",
                                                 item__check_kind="").values_list("value", flat=True))
            assert len(likert) == 1


def test_the_commands_run_bots_export_them_on_request_and_analyse_them(study, tmp_path):
    out = io.StringIO()
    call_command("run_bots", study.slug, "--n", "4", "--dropout", "0", "--pattern", "careful", "--seed", "3", stdout=out,
                 verbosity=0)
    assert "4 bots" in out.getvalue() and "0 failed" in out.getvalue()
    wide = tmp_path / "wide.csv"
    call_command("export_responses", study.slug, "--format", "wide", "--include-pilot", "--out", str(wide), stderr=io.StringIO())
    rows = list(csv.DictReader(wide.open()))
    assert len(rows) == 4 and all(r["condition"] for r in rows)
    plain = tmp_path / "plain.csv"
    call_command("export_responses", study.slug, "--format", "wide", "--out", str(plain), stderr=io.StringIO())
    assert list(csv.DictReader(plain.open())) == []  # pilots are left out unless asked
    report = tmp_path / "report"
    call_command("analyse_study", study.slug, "--include-pilot", "--out", str(report), stdout=out)
    html = (report / "index.html").read_text()
    assert "Analysis: Pilot study" in html and "Kruskal–Wallis" in html and "Cronbach" in html
    descriptives = list(csv.DictReader((report / "descriptives.csv").open()))
    assert {r["condition"] for r in descriptives} == {"features", "spectrogram", "both", "control"}
    assert sum(int(r["n"]) for r in descriptives if r["scale"] == "trust") == 4
    assert any((report / "figures").iterdir())
    # What made it, as every export says: the study's configuration hash and the code's version.
    made_by = json.loads((report / "meta.json").read_text())
    from research.export_files import configuration_sha256

    assert made_by["configuration_sha256"] == configuration_sha256(study) and made_by["include_pilot"] is True
    assert made_by["configuration_sha256"][:12] in html
    call_command("analyse_study", study.slug, "--out", str(tmp_path / "no-pilots"), stdout=out)
    assert "No included participant has answered yet." in (tmp_path / "no-pilots" / "index.html").read_text()
    # Random answerers mostly miss the attention check: the analysis leaves them out and says why.
    call_command("run_bots", study.slug, "--n", "3", "--pattern", "random", "--seed", "5", stdout=out, verbosity=0)
    call_command("analyse_study", study.slug, "--include-pilot", "--out", str(report), stdout=out)
    excluded = list(csv.DictReader((report / "excluded.csv").open()))
    assert excluded and {r["reasons"] for r in excluded} == {"failed attention check"}


def test_bots_refuse_a_study_that_is_not_taking_participants(study):
    study.state = "draft"
    study.save()
    with pytest.raises(CommandError, match="set it to pilot"):
        call_command("run_bots", study.slug, "--n", "1", verbosity=0)


def test_in_a_pilot_study_every_participant_counts_as_pilot(study, liked):
    from tests.participants import ParticipantBrowser

    study.state = "pilot"
    study.save()
    browser = ParticipantBrowser(study)
    browser.get()
    assert browser.participant.is_pilot
    study.state = "draft"
    study.save()
    page = ParticipantBrowser(study).get()
    assert page.status_code == 403 and "has not started yet" in page.content.decode()


def test_the_demo_study_is_piloted_by_bots_and_analysed(demo_catalog, tmp_path):
    """What CI does to the demo study: bots through it, then the analysis of their data."""
    call_command("create_demo_study", stdout=io.StringIO())
    out = io.StringIO()
    call_command("run_bots", "demo", "--n", "4", "--seed", "0", stdout=out, verbosity=0)
    assert "4 finished" in out.getvalue()
    call_command("analyse_study", "demo", "--include-pilot", "--out", str(tmp_path), stdout=out)
    assert "Analysed 4 participants of 'demo' in 2 conditions" in out.getvalue()
    assert (tmp_path / "index.html").exists() and (tmp_path / "mixed_models.csv").exists()
    models = pd.read_csv(tmp_path / "mixed_models.csv")
    assert {"outcome", "term", "estimate", "std_error", "df", "statistic", "p_value", "ci_low", "ci_high", "method",
            "reference"} <= set(models.columns)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 4 and "participant" in scores
    # The demo study holds the understanding tests: the bots took them, and the report has their table.
    assert (tmp_path / "simulation.csv").exists()
