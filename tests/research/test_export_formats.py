"""Every export format a researcher needs (long, wide, events, codebook, XLSX, SPSS), each with its
reproducibility header; pseudonymous ids by default, raw Prolific ids only on request and logged."""
import csv
import io
import json
import re
import zipfile

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from research.export import Options, long_table
from research.export_files import ReasonRequired, study_export
from research.export_wide import wide_columns
from study.models import AuditEntry, Item, ListeningEvent, Participant
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished(study, liked):
    """Two participants who finished (ratings 2 and 3, questionnaire 5 and 6), one pilot who finished too."""
    browsers = []
    for i, pid in enumerate(["5f3a9c0d1b2e4f6a7c8d9e01", "5f3a9c0d1b2e4f6a7c8d9e02", "pilot-bot"]):
        browser = ParticipantBrowser(study)
        browser.get(PROLIFIC_PID=pid)
        browser.consent()
        browser.get_recommendations(*liked)
        browser.post("rate", browser.rating_answers(value=2 + i))
        browser.post("questionnaire", browser.questionnaire_answers(value=5 + i))
        browsers.append(browser)
    Participant.objects.filter(prolific_pid="pilot-bot").update(is_pilot=True)
    return browsers


def rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_the_long_format_names_participants_by_a_pseudonym_and_leaves_pilots_out(study, finished):
    export = study_export(study=study, format="long", exported_by="test")
    table = rows(export.content)
    assert "prolific_pid" not in table[0]
    ids = {r["participant"] for r in table}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", p) for p in ids)
    assert str(finished[0].participant.pk) not in ids
    assert {r["is_pilot"] for r in table} == {"False"}
    with_pilot = rows(study_export(study=study, format="long", options=Options(include_pilot=True), exported_by="t").content)
    assert len({r["participant"] for r in with_pilot}) == 3 and len(with_pilot) == len(table) * 3 // 2
    # The same participant keeps the same pseudonym in every export and format.
    wide = rows(study_export(study=study, format="wide", exported_by="test").content)
    assert {r["participant"] for r in wide} == ids


def test_the_wide_format_has_one_row_per_participant_and_one_column_per_answer(study, finished):
    wide = rows(study_export(study=study, format="wide", exported_by="test").content)
    assert len(wide) == 2
    long = rows(study_export(study=study, format="long", exported_by="test").content)
    for row in long:
        person = next(w for w in wide if w["participant"] == row["participant"])
        item = Item.objects.get(study=study, code=row["item"])
        column = f"{item.code}_r{row['recommendation_rank']}" if row["recommendation_rank"] else (
            f"{item.construct}_{item.code}" if item.construct and item.construct != item.code else item.code
        )
        assert person[column] == row["value"], column
    assert {"condition", "explanation", "recommender", "language", "completed", "duration_s", "similarity_r1",
            "listened_s_r1", "track_id_r1"} <= set(wide[0])


def test_the_codebook_names_every_column_of_the_long_and_wide_formats_with_wording_and_codes(study, finished):
    codebook = {r["name"]: r for r in rows(study_export(study=study, format="codebook", exported_by="test").content)}
    for format in ("long", "wide"):
        header = next(csv.reader(io.StringIO(study_export(study=study, format=format, exported_by="t").content.decode())))
        assert set(header) <= set(codebook), (format, set(header) - set(codebook))
    age = codebook["demographics_age_band"]
    assert age["text_en"] == "How old are you?" and age["text_de"] == "Wie alt sind Sie?"
    assert "9 = I prefer not to say" in age["values_en"] and age["scale_min"] == "1" and age["scale_max"] == "9"
    confused = next(r for name, r in codebook.items() if name.endswith("resque_confused"))
    assert confused["reverse_coded"] == "True" and "Pu, Chen" in confused["source"]
    assert confused["published_text"] == "The recommended items made me confused about my choice."
    assert codebook["condition"]["values_en"].startswith("features = Features")
    assert codebook["check_manipulation_check"]["correct_value"].startswith("features (features): 1; spectrogram")
    assert "wide" in codebook["liking_r1"]["formats"] and codebook["liking_r1"]["recommendation_rank"] == "1"


def test_events_list_every_page_visit_and_player_event_in_time_order(study, finished):
    participant = finished[0].participant
    recommendation = participant.recommendations.first()
    ListeningEvent.objects.create(participant=participant, track=recommendation.track, recommendation=recommendation,
                                  page="rate", kind="play", position_s=0.0)
    events = rows(study_export(study=study, format="events", exported_by="test").content)
    mine = [e for e in events if e["participant"] == rows(study_export(study=study, format="long", exported_by="t")
                                                            .content)[0]["participant"]]
    assert {e["event_type"] for e in events} == {"page_visit", "player"}
    assert [e["at"] for e in mine] == sorted(e["at"] for e in mine)


def test_xlsx_holds_every_table_and_the_reproducibility_header(study, finished, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "study.xlsx"
    call_command("export_responses", study.slug, "--format", "xlsx", "--out", str(out), stderr=io.StringIO())
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["long", "wide", "events", "trials", "codebook", "meta"]
    wide = list(book["wide"].values)
    assert len(wide) == 3  # header and two participants
    meta = {row[0]: row[1] for row in book["meta"].values}
    assert {"configuration_sha256", "software_version", "index_versions", "exported_at", "exported_by"} <= set(meta)


def test_spss_carries_variable_and_value_labels(study, finished, tmp_path):
    import pyreadstat

    out = tmp_path / "study.sav"
    call_command("export_responses", study.slug, "--format", "spss", "--out", str(out), stderr=io.StringIO())
    frame, meta = pyreadstat.read_sav(str(out))
    assert len(frame) == 2
    assert meta.column_names_to_labels["demographics_age_band"] == "How old are you?"
    assert meta.variable_value_labels["demographics_age_band"][9.0] == "I prefer not to say"
    # "I prefer not to say" is no age: SPSS is told it is missing, so it is never averaged in.
    _frame, declared = pyreadstat.read_sav(str(out), user_missing=True, metadataonly=True)
    assert declared.missing_ranges["demographics_age_band"] == [{"lo": 9.0, "hi": 9.0}]
    assert meta.variable_value_labels["liking_r1"][1.0] == "Not at all"
    wide = rows(study_export(study=study, format="wide", exported_by="test").content)
    assert sorted(frame["liking_r1"].tolist()) == sorted(float(w["liking_r1"]) for w in wide)
    sidecar = json.loads((tmp_path / "study.sav.meta.json").read_text())
    assert sidecar["format"] == "spss" and sidecar["rows"] == 2


def test_every_csv_export_gets_a_sidecar_with_what_made_it(study, finished, tmp_path):
    out = tmp_path / "long.csv"
    call_command("export_responses", study.slug, "--format", "long", "--out", str(out), "--by", "dr-lee",
                 stderr=io.StringIO())
    meta = json.loads((tmp_path / "long.csv.meta.json").read_text())
    assert meta["exported_by"] == "dr-lee" and meta["rows"] == len(rows(out.read_bytes()))
    assert re.fullmatch(r"[0-9a-f]{64}", meta["configuration_sha256"])
    assert meta["software_version"] and meta["index_versions"][0]["used"] is True
    # A change to the study's configuration changes its hash; its open/closed state does not.
    study.state = "closed"
    study.save()
    again = study_export(study=study, format="long", exported_by="t").meta
    assert again["configuration_sha256"] == meta["configuration_sha256"]
    study.items.filter(code="liking").update(text="How much do you enjoy this track?")
    assert study_export(study=study, format="long", exported_by="t").meta["configuration_sha256"] != meta["configuration_sha256"]


def test_raw_prolific_ids_come_only_on_request_and_every_export_is_logged(study, finished):
    plain = study_export(study=study, format="wide", exported_by="admin:lee")
    assert "5f3a9c0d1b2e4f6a7c8d9e01" not in plain.content.decode()
    with pytest.raises(ReasonRequired):  # raw ids never leave without a reason
        study_export(study=study, format="wide", options=Options(include_prolific_pid=True), exported_by="admin:lee")
    identifying = study_export(study=study, format="wide", options=Options(include_prolific_pid=True), exported_by="admin:lee",
                               reason="  bonus\n payments ")
    assert "5f3a9c0d1b2e4f6a7c8d9e01" in identifying.content.decode()
    log = list(AuditEntry.objects.order_by("at").values_list("actor", "action", "detail"))
    assert [(actor, action) for actor, action, _detail in log] == [
        ("admin:lee", "export"), ("admin:lee", "export_identifying"),
    ]
    assert log[1][2]["format"] == "wide" and log[1][2]["rows"] == 2 and log[1][2]["reason"] == "bonus payments"
    assert "reason" not in log[0][2]


def test_the_api_exports_every_format_for_staff_with_its_header(study, finished, admin_user, client):
    token = Token.objects.create(user=admin_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    response = client.get(f"/api/studies/{study.slug}/export/", {"format": "wide"}, **auth)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(rows(response.content)) == 2
    assert json.loads(response["X-Export-Meta"])["exported_by"] == f"api:{admin_user.username}"
    assert client.get(f"/api/studies/{study.slug}/export/", {"format": "pdf"}, **auth).status_code == 400
    assert client.get(f"/api/studies/{study.slug}/export/", {"format": "wide"}).status_code in (401, 403)
    xlsx = client.get(f"/api/studies/{study.slug}/export/", {"format": "xlsx", "include_pilot": "1"}, **auth)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    schema = client.get("/api/schema/", **auth).content.decode()
    assert "/api/studies/{slug}/export/" in schema and "include_prolific_pid" in schema


def test_wide_columns_are_valid_names_in_r_and_spss(study, finished):
    for column in wide_columns(study, Options()):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", column.name), column.name
    assert [c.name for c in long_table(study, Options()).columns][-1] == "is_pilot"


def test_the_study_page_s_export_buttons_name_pilot_files_apart_and_say_what_made_them(study, finished, admin_client):
    real = admin_client.get(f"/admin/study/study/{study.pk}/export/wide/")
    with_pilot = admin_client.get(f"/admin/study/study/{study.pk}/export/spss/?pilot=1")
    # A browser keeps the file, not the response's headers: each download is the file with its FILE.meta.json.
    assert real["Content-Disposition"] == f'attachment; filename="{study.slug}-wide.csv.zip"'
    assert with_pilot["Content-Disposition"] == f'attachment; filename="{study.slug}-spss-with-pilot.sav.zip"'
    for response, name in ((real, f"{study.slug}-wide.csv"), (with_pilot, f"{study.slug}-spss-with-pilot.sav")):
        bundle = zipfile.ZipFile(io.BytesIO(response.content))
        assert sorted(bundle.namelist()) == [name, f"{name}.meta.json"]
        meta = json.loads(bundle.read(f"{name}.meta.json"))
        assert meta == json.loads(response["X-Export-Meta"])
        assert meta["exported_by"].startswith("admin:") and len(meta["configuration_sha256"]) == 64
    assert json.loads(with_pilot["X-Export-Meta"])["include_pilot"] is True
    xlsx = admin_client.get(f"/admin/study/study/{study.pk}/export/xlsx/")
    assert xlsx["Content-Disposition"].endswith('.xlsx"')  # its meta sheet travels inside it


@pytest.mark.parametrize(("action", "pilot"), [("export_data_package", False), ("export_data_package_with_pilot", True)])
def test_the_data_package_holds_every_pseudonymous_format_each_with_what_made_it(study, finished, admin_client,
                                                                                 action, pilot):
    response = admin_client.post("/admin/study/study/", {"action": action, "_selected_action": [study.pk]})
    suffix = "-with-pilot" if pilot else ""
    assert response["Content-Disposition"] == f'attachment; filename="{study.slug}-data{suffix}.zip"'
    package = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(package.namelist())
    files = {f"{study.slug}-{name}{suffix}.{ext}" for name, ext in [
        ("long", "csv"), ("wide", "csv"), ("events", "csv"), ("trials", "csv"), ("codebook", "csv"), ("xlsx", "xlsx"),
        ("spss", "sav"), ("spss_trials", "sav")]}
    assert files <= names and f"{study.slug}-csv{suffix}.csv" not in names  # never the raw-id legacy file
    extra = {name for name in names - files if not name.startswith("analysis/")}
    assert extra == {f"{name}.meta.json" for name in files if not name.endswith(".xlsx")}
    assert {"analysis/README.txt", "analysis/ratings/script.R", "analysis/ratings/ratings.csv"} <= names
    wide = rows(package.read(f"{study.slug}-wide{suffix}.csv"))
    assert len(wide) == (3 if pilot else 2)
    assert "5f3a9c0d1b2e4f6a7c8d9e01" not in package.read(f"{study.slug}-long{suffix}.csv").decode()
    meta = json.loads(package.read(f"{study.slug}-long{suffix}.csv.meta.json"))
    assert meta["include_pilot"] is pilot and meta["exported_by"].startswith("admin:")


def test_the_study_list_counts_real_participants_and_pilots_apart(study, finished, admin_client):
    import re

    page = admin_client.get("/admin/study/study/").content.decode()
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S) if f'value="{study.pk}" class="action-select"' in r)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
    assert "Participants (not pilots)" in page and "Pilots" in page
    real = Participant.objects.filter(study=study, is_pilot=False)
    assert str(real.count()) in cells and str(Participant.objects.filter(study=study, is_pilot=True).count()) in cells
    balance = next(cell for cell in cells if ":" in cell and "features" in cell)
    by_condition = {slug: int(n) for slug, n in re.findall(r"(\w+): (\d+)", balance)}
    assert sum(by_condition.values()) == real.count() == 2
