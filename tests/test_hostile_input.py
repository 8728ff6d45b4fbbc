"""Hostile input gets a clear refusal and loses nothing: oversized CSV fields, files that only pretend to be
audio, zip bombs, formulas in exported cells. Each test is a finding of a probe with scripted requests."""
import csv
import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender import importers
from recommender.models import Catalog, Track
from research.export_files import neutralised
from tests.factories import tone_bytes

pytestmark = pytest.mark.django_db


def generic_csv(tmp_path, rows, header="id,title,artist,audio"):
    path = tmp_path / "tracks.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_field_past_the_csv_limit_is_a_problem_on_its_line_and_the_rest_is_imported(tmp_path):
    path = generic_csv(tmp_path, ["a1,First,Someone,", "a2," + "x" * 200_000 + ",Someone,", "a3,Third,Someone,"])
    problems = tmp_path / "problems.csv"
    err = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "lab", "--problems", str(problems),
                 "--no-analysis", stdout=io.StringIO(), stderr=err)
    assert set(Track.objects.values_list("external_id", flat=True)) == {"a1", "a3"}
    reported = list(csv.DictReader(problems.open()))
    assert reported[0]["line"] == "3" and "field larger than field limit" in reported[0]["reason"]


def test_an_unreadable_file_leaves_no_empty_catalog_behind(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe\x00\x00 not text at all")
    with pytest.raises(CommandError, match="Cannot import"):
        call_command("import_catalog", str(path), "--format", "generic", "--catalog", "lab", stdout=io.StringIO())
    assert not Catalog.objects.filter(slug="lab").exists()


def test_only_real_audio_enters_media_whatever_its_name(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "page.mp3").write_bytes(b"<html><script>alert(document.cookie)</script></html>")
    (clips / "song.wav").write_bytes(tone_bytes(1.0))
    path = generic_csv(tmp_path, ["h1,Page,X,page.mp3", "s1,Song,Y,song.wav"])
    err = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "lab", "--audio-dir", str(clips),
                 "--no-analysis", stdout=io.StringIO(), stderr=err)
    assert Track.objects.get(external_id="s1").audio
    assert not Track.objects.get(external_id="h1").audio
    assert "is not audio that can be decoded" in err.getvalue()


def test_a_clip_over_the_size_cap_is_refused(tmp_path, settings):
    settings.CLIP_MAX_BYTES = 1000
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "big.wav").write_bytes(tone_bytes(1.0))
    path = generic_csv(tmp_path, ["b1,Big,X,big.wav"])
    err = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "lab", "--audio-dir", str(clips),
                 "--no-analysis", stdout=io.StringIO(), stderr=err)
    assert not Track.objects.get(external_id="b1").audio and "a clip may have at most 1,000" in err.getvalue()


def zip_of(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def test_a_zip_that_unpacks_past_the_cap_is_refused_before_anything_is_written(tmp_path, settings):
    """1 MB of zeros compresses to a few kB: the declared size is checked before a byte is written."""
    settings.UPLOAD_MAX_BYTES = 500_000
    settings.CLIP_MAX_BYTES = 2_000_000
    bomb = zip_of({"a.wav": b"\0" * 1_000_000})
    assert len(bomb.getvalue()) < 10_000
    with pytest.raises(ValueError, match="unpacks to more than 500,000 bytes"):
        importers.extract_clips(bomb, tmp_path)
    assert list(tmp_path.iterdir()) == []
    settings.UPLOAD_MAX_BYTES = 5_000_000
    settings.CLIP_MAX_BYTES = 100_000
    with pytest.raises(ValueError, match="largest clip accepted"):
        importers.extract_clips(zip_of({"a.wav": b"\0" * 1_000_000}), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_zip_that_lies_about_its_sizes_is_stopped_while_unpacking_and_cleaned_up(tmp_path, settings, monkeypatch):
    settings.UPLOAD_MAX_BYTES = 10_000_000
    settings.CLIP_MAX_BYTES = 50_000
    archive = zip_of({"ok.wav": b"\1" * 1000, "liar.wav": b"\0" * 200_000})
    real_infolist = zipfile.ZipFile.infolist

    def lying(self):
        infos = real_infolist(self)
        for info in infos:
            info.file_size = 1000  # what a crafted header would claim
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying)
    # zipfile itself stops at the declared size and fails the CRC; past a cap we stop first: either way refused.
    with pytest.raises((ValueError, zipfile.BadZipFile)):
        importers.extract_clips(archive, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_admin_upload_leaves_no_catalog_behind(admin_client):
    csv_file = io.BytesIO(b"id,title,artist,audio\nx1,T,A,a.wav\n")
    csv_file.name = "tracks.csv"
    clips = io.BytesIO(b"this is not a zip")
    clips.name = "clips.zip"
    page = admin_client.post("/admin/recommender/catalog/import/", {
        "new_catalog_name": "Broken upload", "format": "generic", "csv_file": csv_file, "clips": clips,
    })
    assert page.status_code == 200 and "Cannot import this upload" in page.content.decode()
    assert not Catalog.objects.filter(name="Broken upload").exists()


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("+1", "'+1"), ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Song", "Song"), (-0.27, -0.27), (3, 3),
])
def test_text_cells_that_would_be_spreadsheet_formulas_are_kept_as_text(value, expected):
    assert neutralised(value) == expected


def test_a_request_django_refuses_gets_the_study_s_own_400_page_in_the_browser_s_language(client, settings):
    settings.DEBUG = False
    refused = client.get("/s/any/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="de")
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "<h1>Diese Anfrage konnte nicht verstanden werden</h1>" in page and 'lang="de"' in page
    assert "/static/css/study.css" in page
