"""Understanding tests as data: bots plant an accuracy per condition, and every export, the monitor and the
analysis report it back exactly."""
import csv
import io
import json
import zipfile

import pandas as pd
import pytest
from django.core.management import call_command

from research.bot_tests import parse_accuracy
from research.bots import bots_run
from research.codebook import codebook_rows
from research.export import Options
from research.export_files import study_data_package, study_export
from research.monitor import study_monitor
from research.services import study_simulation_sample_size
from study.models import SimulationTrial
from tests.factories import make_study

pytestmark = pytest.mark.django_db(transaction=True)
CONTRACT = ["participant", "condition", "phase", "trial", "choice", "model_choice", "correct", "margin", "response_ms"]


@pytest.fixture
def planted(demo_catalog, unpaced_bots):
    """Eight bots: the features condition answers every pre-test trial against the model and every post-test
    trial with it; the control condition the other way round."""
    study = make_study(
        demo_catalog, conditions=[("features", "features"), ("control", "none")], slug="understood",
        simulation_trials=2, n_recommendations=2, max_liked=1, simulation_bands=[[0.01, 2.0]], state="pilot",
    )
    run = bots_run(study=study, n=8, seed=3, test_accuracy={"features": (0.0, 1.0), "control": (1.0, 0.0)})
    assert not [r.error for r in run.results if r.error]
    assert run.by_condition == {"features": 4, "control": 4}
    return study


def _csv(export) -> list[dict]:
    return list(csv.DictReader(io.StringIO(export.content.decode())))


def test_the_trials_export_the_codebook_and_the_monitor_hold_every_trial_with_the_planted_accuracy(planted, tmp_path):
    rows = _csv(study_export(study=planted, format="trials", options=Options(include_pilot=True), exported_by="t"))
    assert len(rows) == 8 * 2 * 2 and set(CONTRACT) <= set(rows[0])
    for row in rows:
        expected = (row["condition"] == "features") == (row["phase"] == "post")
        assert row["correct"] == str(expected)
        assert (row["choice"] == row["model_choice"]) == expected
        assert float(row["margin"]) == pytest.approx(abs(float(row["left_score"]) - float(row["right_score"])), abs=2e-6)
        assert int(row["response_ms"]) >= 0 and 4000 <= int(row["client_ms"]) <= 20000
        assert 1 <= int(row["confidence"]) <= 5 and row["chosen_track_id"] == row[f"{row['choice']}_track_id"]
        assert float(row["left_listened_s"]) >= 0 and float(row["right_listened_s"]) >= 0
    # Without pilots there is nobody: bots are pilot participants.
    assert _csv(study_export(study=planted, format="trials", exported_by="t")) == []
    _the_export_command_writes_the_trials_contract(planted, tmp_path)
    _the_codebook_describes_every_trial_column_in_both_languages(planted)
    _the_monitor_shows_accuracy_per_condition_and_test_as_it_arrives(planted)


def test_the_long_wide_events_spss_and_xlsx_formats_and_the_package_carry_the_tests(planted, tmp_path):
    options = Options(include_pilot=True)
    long = [r for r in _csv(study_export(study=planted, format="long", options=options, exported_by="t"))
            if r["section"] == "simulation"]
    assert len(long) == 8 * 2 * 2 * 2  # a correctness row and a confidence row per trial
    for row in long:
        if row["construct"] == "forward_simulation":
            phase = row["item"].split("_")[1]
            assert row["value"] == str(int((row["condition"] == "features") == (phase == "post")))
    wide = _csv(study_export(study=planted, format="wide", options=options, exported_by="t"))
    for row in wide:
        features = row["condition"] == "features"
        assert (row["sim_pre_accuracy"], row["sim_post_accuracy"]) == (("0.0", "1.0") if features else ("1.0", "0.0"))
        assert row["sim_improvement"] == ("1.0" if features else "-1.0")
    events = _csv(study_export(study=planted, format="events", options=options, exported_by="t"))
    on_trials = [e for e in events if e["page"] in ("pretest", "posttest") and e["event_type"] == "player"]
    assert on_trials and all(e["simulation_trial"].split("-")[0] in ("pre", "post") for e in on_trials)
    trials = _csv(study_export(study=planted, format="trials", options=options, exported_by="t"))
    played = {(e["participant"], e["simulation_trial"], e["track_id"]) for e in on_trials if e["event"] == "play"}
    for trial in trials:  # the bots played both candidates of every trial, and the events name the trial
        where = f"{trial['phase']}-{trial['trial']}"
        assert {(trial["participant"], where, trial[f"{side}_track_id"]) for side in ("left", "right")} <= played
    _spss_xlsx_and_the_data_package_carry_the_trials(planted, tmp_path)


def _the_codebook_describes_every_trial_column_in_both_languages(planted):
    rows = {row["name"]: row for row in codebook_rows(planted)}
    for name in [*CONTRACT, "confidence", "trial_item", "left_listened_s", "sim_improvement"]:
        assert name in rows and rows[name]["description"], name
    assert "trials" in rows["model_choice"]["formats"] and "spss_trials" in rows["model_choice"]["formats"]
    assert rows["choice"]["text_en"] == "Which of these two would the system recommend to them?"
    assert rows["choice"]["text_de"] == "Welchen dieser beiden Titel würde das System dieser Person empfehlen?"
    assert rows["confidence"]["values_de"] == "1 = Nur geraten; 5 = Völlig sicher"


def _spss_xlsx_and_the_data_package_carry_the_trials(planted, tmp_path):
    import pyreadstat
    from openpyxl import load_workbook

    options = Options(include_pilot=True)
    sav = tmp_path / "trials.sav"
    sav.write_bytes(study_export(study=planted, format="spss_trials", options=options, exported_by="t").content)
    frame, meta = pyreadstat.read_sav(str(sav))
    assert len(frame) == 32 and set(frame["correct"]) == {0.0, 1.0}
    assert meta.variable_value_labels["confidence"] == {1.0: "Just guessing", 5.0: "Completely sure"}
    assert meta.column_names_to_labels["margin"].startswith("Difference between the two candidates")
    book = load_workbook(io.BytesIO(study_export(study=planted, format="xlsx", options=options, exported_by="t").content))
    assert "trials" in book.sheetnames and book["trials"].max_row == 33
    package = zipfile.ZipFile(io.BytesIO(study_data_package(study=planted, options=options, exported_by="t")))
    names = set(package.namelist())
    assert {"understood-trials-with-pilot.csv", "understood-trials-with-pilot.csv.meta.json",
            "understood-spss_trials-with-pilot.sav"} <= names
    assert json.loads(package.read("understood-trials-with-pilot.csv.meta.json"))["rows"] == 32


def _the_export_command_writes_the_trials_contract(planted, tmp_path):
    out = tmp_path / "trials.csv"
    call_command("export_responses", planted.slug, "--format", "trials", "--include-pilot", "--out", str(out))
    frame = pd.read_csv(out)
    assert list(frame.columns[:3]) == ["participant", "condition", "explanation"] and set(CONTRACT) <= set(frame.columns)
    assert set(frame["phase"]) == {"pre", "post"} and len(frame) == 32


def _the_monitor_shows_accuracy_per_condition_and_test_as_it_arrives(planted):
    monitor = study_monitor(study=planted, include_pilot=True)
    rows = {(r["condition"], r["phase"]): r for r in monitor.understanding}
    assert rows["features", "pre"]["accuracy"] == 0.0 and rows["features", "post"]["accuracy"] == 1.0
    assert rows["control", "pre"]["accuracy"] == 1.0 and rows["control", "post"]["trials"] == 8


def test_the_analysis_reports_accuracy_improvement_and_which_condition_helped(planted, tmp_path):
    call_command("analyse_study", planted.slug, "--out", str(tmp_path), "--include-pilot")
    table = pd.read_csv(tmp_path / "simulation.csv")
    by = {(r.condition, r.phase): r for r in table.itertuples()}
    assert by["features", "pre"].accuracy == 0.0 and by["features", "post"].accuracy == 1.0
    assert by["features", "improvement"].accuracy == 1.0 and by["control", "improvement"].accuracy == -1.0
    assert by["features", "post"].participants == 4 and by["features", "post"].trials == 8
    assert (tmp_path / "simulation_model.csv").exists() and (tmp_path / "simulation_relation.csv").exists()
    html = (tmp_path / "index.html").read_text()
    assert "What participants understood" in html and "features: pre-test 0%" in html
    _a_trial_is_deleted_with_its_participant_and_its_tracks_are_protected(planted)


def test_planted_accuracies_are_read_from_the_command_line():
    assert parse_accuracy("features=0.8, control=0.4:0.6") == {"features": (0.5, 0.8), "control": (0.4, 0.6)}
    assert parse_accuracy("") == {}
    for bad in ("features", "features=1.5", "=0.5", "features=a:b"):
        with pytest.raises(ValueError, match=r"CONDITION=|between 0 and 1"):
            parse_accuracy(bad)


def test_run_bots_refuses_an_accuracy_for_a_condition_the_study_has_not(demo_catalog):
    from django.core.management.base import CommandError

    make_study(demo_catalog, slug="bots", state="pilot")
    with pytest.raises(CommandError, match="names no condition"):
        call_command("run_bots", "bots", "--n", "1", "--test-accuracy", "nonsense=0.9")


def _a_trial_is_deleted_with_its_participant_and_its_tracks_are_protected(planted):
    trial = SimulationTrial.objects.first()
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        trial.left_track.delete()
    participant = trial.participant
    participant.delete()
    assert not SimulationTrial.objects.filter(pk=trial.pk).exists()


def test_the_study_page_explains_the_tests_and_shows_their_power(demo_catalog, admin_client):
    study = make_study(demo_catalog, slug="powered", simulation_trials=6)
    page = admin_client.get(f"/admin/study/study/{study.pk}/change/").content.decode()
    assert "Understanding tests (forward simulation)" in page and "The condition's own recommender" in page
    assert "Trials per test" in page and "Difficulty bands" in page
    size = study_simulation_sample_size(study=study)
    assert f"<strong>{size['per_condition']}</strong> participants per condition to detect post-test " \
           f"accuracy 60% vs 75%" in page
    assert size["trials"] == 6 and size["alpha"] == 0.05  # two conditions: one comparison


def test_the_study_page_warns_of_a_target_below_either_power_analysis(demo_catalog):
    from research.services import study_sample_size, study_warnings

    study = make_study(demo_catalog, slug="target", simulation_trials=2, n_recommendations=2, target_per_condition=30)
    needed = study_sample_size(study=study)["per_condition"]  # d = 0.5: 64 per condition
    warnings = study_warnings(study)
    assert any(f"target of 30 participants per condition is below the {needed}" in w for w in warnings)
    tests = study_simulation_sample_size(study=study)["per_condition"]
    assert any(f"below the {tests} the understanding tests need" in w for w in warnings)
    study.target_per_condition = max(needed, tests)
    assert not any("target of" in w for w in study_warnings(study))


def test_straight_lining_is_flagged_and_the_rules_are_checked(study, liked):
    from django.core.exceptions import ValidationError

    from research.export import participant_summaries
    from tests.participants import ParticipantBrowser

    flat, varied = ParticipantBrowser(study), ParticipantBrowser(study)
    for browser, value in ((flat, 4), (varied, None)):
        browser.get()
        browser.consent()
        browser.get_recommendations(*liked)
        browser.post("rate", browser.rating_answers())
        answers = browser.questionnaire_answers(value or 4)
        if value is None:  # a participant who reads: answers that differ
            answers = {code: (v if i % 2 else max(1, v - 2)) if isinstance(v, int) and i % 3 else v
                       for i, (code, v) in enumerate(answers.items())}
        browser.post("questionnaire", answers)
    summaries = participant_summaries(study)
    assert summaries[flat.participant.pk]["straightlined"] is True
    assert summaries[varied.participant.pk]["straightlined"] is False
    monitor = study_monitor(study=study)
    assert sum(row.straightlined for row in monitor.conditions) == 1
    for rules in (["attention", "nonsense"], "attention", ["too_fast", "too_fast"]):
        study.exclusion_rules = rules
        with pytest.raises(ValidationError, match="exclusion rules"):
            study.full_clean()

