"""Preregistration: the plan answers AsPredicted's nine questions from the study itself, opening the study
freezes it, later changes are dated amendments, and the report separates the confirmatory tests (Holm across
the primary family) from the exploratory ones; the data package lets R rerun the models to the same numbers."""
import io
import subprocess
import zipfile

import pandas as pd
import pytest
from django.core.management import call_command

from research import rating_models, rscript
from research.bots import bots_run
from research.export import Options
from research.export_files import configuration_sha256, study_data_package
from research.preregistration import QUESTIONS, preregistration_markdown
from study.models import AuditEntry, Preregistration, Study
from tests.factories import make_study

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def planned(demo_catalog):
    study = make_study(
        demo_catalog, conditions=[("control", "none"), ("features", "features")], slug="planned", state="draft",
        simulation_trials=2, n_recommendations=2, max_liked=1, simulation_bands=[[0.01, 2.0]], target_per_condition=70,
        exclusion_rules=["attention", "straightlining"],
    )
    Preregistration.objects.create(study=study, hypothesis="Feature charts help people predict the recommender.",
                                   primary_outcomes=["understanding", "perceived_transparency"], direction="greater")
    return study


def test_the_document_answers_the_nine_questions_from_the_study_itself(planned):
    text = preregistration_markdown(planned)
    for number, question in enumerate(QUESTIONS, start=1):
        assert f"## {number}. {question}" in text
    assert "No, no data have been collected" in text and "Draft: frozen when the study opens." in text
    assert "understanding: post-test accuracy in the understanding tests (2 trials" in text
    assert "perceived_transparency: the mean of its" in text and "“I understood why the tracks were recommended to me.”" in text
    assert "2 conditions, between participants: control (No explanation (control)" in text and "Reference: control" in text
    assert "one-sided, each condition higher than control" in text and "Holm's correction" in text
    assert "do not give the answer the attention check asked them for" in text and "one and the same answer" in text
    assert "faster than" not in text  # too_fast is not among this study's rules
    assert "70 analysed participants per condition (140 in all)" in text and "The power analysis asks for 64" in text
    assert "as preregistered: Welch" in text


def test_opening_the_study_freezes_the_plan_and_a_later_change_is_a_dated_amendment(planned, admin_client):
    from django.urls import reverse

    from tests.study.test_frozen import _form_data

    page = admin_client.get(f"/admin/study/study/{planned.pk}/change/").content.decode()
    assert "AsPredicted" in page and 'name="preregistration-0-hypothesis"' in page
    url = reverse("admin:study_study_change", args=[planned.pk])
    data = _form_data(admin_client, planned)
    draft_hash = configuration_sha256(planned)
    assert admin_client.post(url, {**data, "state": "open"}).status_code == 302
    plan = Preregistration.objects.get(study=planned)
    assert plan.frozen_at is not None and not plan.data_before_freeze
    assert plan.frozen_configuration_sha256 == configuration_sha256(Study.objects.get(pk=planned.pk)) == draft_hash
    assert AuditEntry.objects.filter(detail__what="preregistration frozen").count() == 1
    frozen = plan.frozen_document
    assert "Frozen when the study opened" in frozen and "Feature charts help people predict" in frozen
    data = _form_data(admin_client, Study.objects.get(pk=planned.pk))
    assert admin_client.post(url, {**data, "preregistration-0-hypothesis": "Spectrograms help more."}).status_code == 302
    plan.refresh_from_db()
    assert plan.frozen_document == frozen  # the preregistration as frozen never changes
    text = preregistration_markdown(plan.study)
    assert "## Amendments after freezing" in text and "Spectrograms help more." in text
    assert f"- {plan.frozen_at:%Y-%m-%d}" in text  # each amendment with its date


def test_the_report_separates_the_preregistered_tests_and_the_package_reruns_in_r(planned, tmp_path, unpaced_bots):
    Study.objects.filter(pk=planned.pk).update(state="pilot")
    planned.refresh_from_db()
    run = bots_run(study=planned, n=8, seed=1, test_accuracy={"features": (0.5, 1.0), "control": (0.5, 0.3)})
    assert not [r.error for r in run.results if r.error]
    from django.utils import translation

    translation.activate("de")  # as a bot's German pages leave it: the researcher's report stays in English
    call_command("analyse_study", planned.slug, "--include-pilot", "--out", str(tmp_path))
    translation.deactivate()
    confirmatory = pd.read_csv(tmp_path / "confirmatory.csv")
    assert list(confirmatory["outcome"]) == ["understanding", "perceived_transparency"]
    assert set(confirmatory["contrast"]) == {"features − control"} and set(confirmatory["alternative"]) == {"greater"}
    understanding = confirmatory.iloc[0]
    assert understanding["estimate"] > 0.4
    assert confirmatory["p_holm"].min() == pytest.approx(min(1.0, 2 * confirmatory["p"].min()))  # Holm over two
    assert (confirmatory["supported"] == (confirmatory["p_holm"] < 0.05)).all()
    html = (tmp_path / "index.html").read_text()
    assert f"{understanding['estimate']:.3f} (mean difference)" in html  # 0.750, never 0,750
    assert html.index("Confirmatory analysis (preregistered)") < html.index("Exploratory analyses") < html.index("By condition")
    assert (tmp_path / "preregistration.md").read_text().startswith("# Preregistration: Pilot study")

    package = zipfile.ZipFile(io.BytesIO(study_data_package(study=planned, options=Options(include_pilot=True),
                                                            exported_by="t")))
    names = set(package.namelist())
    assert {"preregistration.md", "preregistration.html", "analysis/README.txt", "analysis/ratings/script.R",
            "analysis/understanding/trials.csv"} <= names
    if rscript.missing(rating_models.PACKAGES):
        return
    folder = tmp_path / "rerun"
    package.extractall(folder)
    subprocess.run(["Rscript", "--vanilla", "analysis/ratings/script.R", "analysis/ratings"], cwd=folder, check=True,
                   capture_output=True)
    rerun = pd.read_csv(folder / "analysis" / "ratings" / "models.csv")
    reported = pd.read_csv(tmp_path / "mixed_models.csv")
    assert list(rerun["estimate"].round(9)) == list(reported["estimate"].round(9))
    assert list(rerun["p_value"].round(9)) == list(reported["p_value"].round(9))


def test_the_power_analysis_follows_the_plan(planned):
    import math

    from statsmodels.stats.power import TTestIndPower

    from research.services import study_sample_size

    # Two primary outcomes, one condition against the reference, one-sided: alpha / 2 each, one-sided t.
    size = study_sample_size(study=planned)
    n = TTestIndPower().solve_power(effect_size=0.5, alpha=0.025, power=0.8, alternative="larger")
    assert (size["per_condition"], size["comparisons"]) == (math.ceil(n), 2) and "as preregistered" in size["planned"]
    Preregistration.objects.filter(study=planned).update(test="mann_whitney", direction="two-sided")
    two_sided = TTestIndPower().solve_power(effect_size=0.5, alpha=0.025, power=0.8)
    assert study_sample_size(study=planned)["per_condition"] == math.ceil(two_sided / 0.955)
    Preregistration.objects.filter(study=planned).delete()
    assert study_sample_size(study=planned)["planned"] == "two-sided t test, every pair of conditions"
