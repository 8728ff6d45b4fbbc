import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from research.export import LONG_COLUMNS
from study.models import AuditEntry
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished(study, liked):
    browsers = [ParticipantBrowser(study) for _ in range(2)]
    for i, browser in enumerate(browsers):
        browser.get(PROLIFIC_PID=f"pid-{i}")
        browser.consent()
        browser.get_recommendations(*liked)
        browser.post("rate", browser.rating_answers(value=2 + i))
        browser.post("questionnaire", browser.questionnaire_answers(value=5 + i))
    return browsers


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_export_command_writes_one_row_per_answer_with_the_contract_columns(study, finished, tmp_path):
    out = tmp_path / "answers.csv"
    call_command("export_responses", study.slug, "--format", "csv", "--out", str(out), "--reason", "test: checking the export")
    rows = read_csv(out.read_text())

    assert {"participant", "condition", "item", "value", "answered_at"} <= set(rows[0])
    assert list(rows[0]) == LONG_COLUMNS
    assert len(rows) == sum(browser.n_answers() for browser in finished)
    for browser in finished:
        participant = browser.participant
        mine = [r for r in rows if r["participant"] == str(participant.pk)]
        assert {r["condition"] for r in mine} == {participant.condition.slug}
        given = {(r["item"], r["recommendation_rank"]): int(r["value"]) for r in mine}
        stored = {
            (resp.item.code, str(resp.recommendation.rank) if resp.recommendation else ""): resp.value
            for resp in participant.responses.select_related("item", "recommendation")
        }
        assert given == stored


def test_each_row_gives_the_range_its_own_item_s_answers_can_take(study, finished, tmp_path):
    """A multiple-choice item's range is its option codes (musical training 0–10, age band 1–9), not 1–7."""
    out = tmp_path / "answers.csv"
    call_command("export_responses", study.slug, "--format", "csv", "--out", str(out), "--reason", "test: checking the export")
    ranges = {r["item"]: (int(r["scale_min"]), int(r["scale_max"])) for r in read_csv(out.read_text())}
    for item in study.items.all():
        codes = [value for value, _label in item.options] if item.kind == "choice" else range(item.scale_min, item.scale_max + 1)
        assert ranges[item.code] == (min(codes), max(codes)), item.code
    assert ranges["musical_training"] == (1, 7) and ranges["age_band"][1] == 9  # Gold-MSI codes 1-7


def test_export_of_an_unknown_study_fails_clearly():
    with pytest.raises(CommandError, match="No study with slug 'nope'"):
        call_command("export_responses", "nope", "--out", "/dev/null")


def test_the_admin_action_downloads_the_same_csv(study, finished, admin_client, tmp_path):
    asked = admin_client.post(
        "/admin/study/study/", {"action": "export_responses_csv", "_selected_action": [study.pk]}
    )
    # Raw Prolific ids leave only with a reason: the action first asks why.
    assert asked.status_code == 200 and "Why must raw Prolific ids leave" in asked.content.decode()
    response = admin_client.post(
        "/admin/study/study/",
        {"action": "export_responses_csv", "_selected_action": [study.pk], "reason": "Prolific bonus payments"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert AuditEntry.objects.filter(action="export_identifying", detail__reason="Prolific bonus payments").exists()
    out = tmp_path / "cmd.csv"
    call_command("export_responses", study.slug, "--out", str(out), "--reason", "test: checking the export")
    assert read_csv(response.content.decode()) == read_csv(out.read_text())


def test_the_api_lists_studies_and_answers_for_researchers_only(study, finished, client, admin_user):
    assert client.get("/api/studies/").status_code in (401, 403)
    token = Token.objects.create(user=admin_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    studies = client.get("/api/studies/", **auth).json()
    assert studies[0]["slug"] == study.slug
    assert sum(c["assigned"] for c in studies[0]["conditions"]) == 2
    answers = client.get(f"/api/studies/{study.slug}/responses/", **auth).json()
    assert len(answers) == sum(browser.n_answers() for browser in finished)
    assert client.get("/api/schema/", **auth).status_code == 200


ADMIN_PAGES = [
    "/admin/",
    "/admin/study/study/",
    "/admin/study/participant/",
    "/admin/study/response/",
    "/admin/study/recommendation/",
    "/admin/recommender/catalog/",
    "/admin/recommender/track/",
    "/admin/recommender/similarityindex/",
    "/admin/explanations/explanation/",
]


def test_admin_pages_show_the_study_to_researchers(finished, admin_client):
    for url in ADMIN_PAGES:
        assert admin_client.get(url).status_code == 200, url


def test_admin_detail_pages_open(study, finished, admin_client):
    participant = finished[0].participant
    assert admin_client.get(f"/admin/study/study/{study.pk}/change/").status_code == 200
    page = admin_client.get(f"/admin/study/participant/{participant.pk}/change/")
    assert page.status_code == 200 and participant.condition.slug.encode() in page.content
