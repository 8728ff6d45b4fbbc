"""Imports use every column or say why not: a researcher's own sheet (as ../shared/realmusic's) with its own
headers is mapped, refused while a column would be lost, previewed without writing, and its licences reach the
participants who hear the clips and the export."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import Catalog, Track
from tests.factories import tone_bytes

pytestmark = pytest.mark.django_db(transaction=True)

SHEET = "track_id,title,artist_or_source,style,license,package,duration_s,path\n" + "\n".join(
    f"t{i},Song {i},Composer {i},{style},CC BY 4.0,pack {i},30,clip{i}.wav"
    for i, style in enumerate(["chiptune", "ambient", "chiptune"], start=1)
) + "\n"
MAPPING = "track_id=id,artist_or_source=artist,style=genre,path=audio"


@pytest.fixture
def sheet(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in (1, 2, 3):
        (folder / f"clip{i}.wav").write_bytes(tone_bytes(1.0, 220.0 * i))
    path = tmp_path / "realmusic.csv"
    path.write_text(SHEET)
    return path, folder


def _import(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "mine", "--no-analysis", *args,
                 stdout=out, stderr=err, verbosity=0)
    return out.getvalue(), err.getvalue()


def test_a_sheet_with_its_own_headers_is_refused_until_every_column_is_mapped_or_left_out_on_purpose(sheet):
    path, folder = sheet
    with pytest.raises(CommandError, match=r"lacks the column\(s\) id, artist\. It has column\(s\) this format does not "
                                           r"read: track_id, artist_or_source, style, package, duration_s, path"):
        _import(path, "--audio-dir", str(folder))
    with pytest.raises(CommandError, match=r"does not read: package, duration_s\. Map yours"):
        _import(path, "--audio-dir", str(folder), "--columns", MAPPING)
    assert not Catalog.objects.filter(slug="mine").exists()  # nothing half-imported
    out, _err = _import(path, "--audio-dir", str(folder), "--columns", MAPPING, "--ignore-columns")
    assert "3 tracks created" in out and "3 audio files attached" in out and "columns left out: package, duration_s" in out
    track = Track.objects.get(external_id="t1")
    assert (track.artist, track.style, track.license, bool(track.audio)) == ("Composer 1", "chiptune", "CC BY 4.0", True)


def test_clips_for_a_file_that_names_none_are_refused(sheet, tmp_path):
    _path, folder = sheet
    plain = tmp_path / "plain.csv"
    plain.write_text("id,title,artist\na,Song,Someone\n")
    with pytest.raises(CommandError, match="no audio column"):
        _import(plain, "--audio-dir", str(folder))
    with pytest.raises(CommandError, match="no audio column"):
        _import(plain, "--audio-dir", str(folder), "--dry-run")


def test_a_mapping_naming_a_column_the_file_lacks_or_written_wrongly_is_refused(sheet):
    path, _folder = sheet
    with pytest.raises(CommandError, match=r"names composer, which realmusic\.csv does not have"):
        _import(path, "--columns", "composer=artist")
    with pytest.raises(CommandError, match="write THEIRS=OURS"):
        _import(path, "--columns", "track_id")


def test_a_dry_run_shows_the_first_rows_as_they_would_be_stored_and_writes_nothing(sheet):
    path, folder = sheet
    (folder / "clip3.wav").unlink()
    out, _err = _import(path, "--audio-dir", str(folder), "--columns", MAPPING, "--ignore-columns", "--dry-run")
    assert "3 rows, 3 tracks, 0 rows with problems; nothing written" in out
    assert "Columns read: id, title, artist, genre, license, audio; left out: package, duration_s" in out
    assert "t1: 'Song 1' by 'Composer 1', genre 'chiptune' audio=clip1.wav (found), licence 'CC BY 4.0'" in out
    assert "audio=clip3.wav (NOT FOUND)" in out
    assert not Catalog.objects.filter(slug="mine").exists() and not Track.objects.exists()


def test_participants_see_each_clip_s_licence_and_credit_beside_its_player(demo_catalog, liked):
    from tests.factories import make_study
    from tests.participants import ParticipantBrowser

    Track.objects.filter(catalog=demo_catalog).update(license="CC BY 4.0", attribution="Mara Lindqvist, via FMA")
    browser = ParticipantBrowser(make_study(demo_catalog))
    browser.get()
    page = browser.consent().content.decode()
    assert "Music: Mara Lindqvist, via FMA · CC BY 4.0" in page
    german = ParticipantBrowser(make_study(demo_catalog, slug="de"))
    german.get(lang="de")
    assert "Musik: Mara Lindqvist, via FMA · CC BY 4.0" in german.consent().content.decode()


def test_the_upload_form_takes_the_same_mapping(sheet, admin_client):
    path, _folder = sheet
    with open(path, "rb") as upload:
        page = admin_client.post("/admin/recommender/catalog/import/", {
            "new_catalog_name": "Mine", "format": "generic", "csv_file": upload, "columns": MAPPING,
        }, follow=True).content.decode()
    assert "does not read: package, duration_s" in page and not Catalog.objects.filter(slug="mine").exists()
    with open(path, "rb") as upload:
        admin_client.post("/admin/recommender/catalog/import/", {
            "new_catalog_name": "Mine", "format": "generic", "csv_file": upload, "columns": MAPPING,
            "ignore_columns": "on",
        }, follow=True)
    assert Track.objects.filter(catalog__slug="mine", style="chiptune").count() == 2
