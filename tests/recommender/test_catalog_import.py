"""The one import workflow behind the admin upload and `import_catalog`: all or nothing, rows reported."""
import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from recommender.catalog_import import ImportRefused, catalog_import_file
from recommender.models import Catalog, Track
from tests.factories import tone_bytes

# Analysis jobs are sent once the import commits (a worker must find the tracks), as in a deployment.
pytestmark = pytest.mark.django_db(transaction=True)


def generic_csv(tmp_path, text: str):
    path = tmp_path / "tracks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def zip_of(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def test_an_unreadable_file_creates_no_catalog(tmp_path):
    path = generic_csv(tmp_path, "name,singer\nA,B\n")  # none of the required columns
    with pytest.raises(ImportRefused, match="id"):
        catalog_import_file(csv_path=path, format="generic", slug="never", name="Never")
    assert not Catalog.objects.filter(slug="never").exists()


def test_an_unknown_format_is_refused_before_anything_is_read(tmp_path):
    with pytest.raises(ImportRefused, match="unknown format 'itunes'"):
        catalog_import_file(csv_path=tmp_path / "missing.csv", format="itunes", slug="x")
    assert not Catalog.objects.exists()


def test_clips_from_a_zip_are_attached_and_sent_for_analysis(tmp_path, memoised_audio_work):
    path = generic_csv(tmp_path, "id,title,artist,audio\na,First,Ann,a.wav\nb,Second,Bob,b.wav\n")
    result = catalog_import_file(csv_path=path, format="generic", slug="lab", name="Lab",
                                 clips_zip=zip_of({"a.wav": tone_bytes(freq=330), "b.wav": tone_bytes(freq=550)}))
    assert result.created and result.catalog.name == "Lab"
    assert (result.summary.created, result.summary.audio_attached, result.sent) == (2, 2, 2)
    assert sorted(Track.objects.filter(catalog=result.catalog).values_list("external_id", "status")) == [
        ("a", "analysed"), ("b", "analysed")]


def test_a_refused_zip_removes_the_catalog_it_made_and_every_clip_written(tmp_path, settings):
    settings.CLIP_MAX_BYTES = 200_000
    path = generic_csv(tmp_path, "id,title,artist,audio\na,First,Ann,a.wav\n")
    with pytest.raises(ImportRefused, match="largest clip accepted"):
        catalog_import_file(csv_path=path, format="generic", slug="lab", name="Lab",
                            clips_zip=zip_of({"a.wav": tone_bytes(seconds=6.0)}))  # 264 kB
    assert not Catalog.objects.filter(slug="lab").exists() and not Track.objects.exists()
    assert not default_storage.exists("catalog/lab")


def test_a_failed_import_into_an_existing_catalog_keeps_the_catalog_and_its_tracks_as_they_were(tmp_path):
    kept = catalog_import_file(csv_path=generic_csv(tmp_path, "id,title,artist\nold,Old,Ann\n"), format="generic",
                               slug="lab", analyse=False).catalog
    path = generic_csv(tmp_path, "id,title,artist,audio\nold,Renamed,Ann,\nnew,New,Bob,n.wav\n")
    with pytest.raises(ImportRefused):
        catalog_import_file(csv_path=path, format="generic", catalog=kept, clips_zip=io.BytesIO(b"not a zip"))
    assert list(kept.tracks.values_list("external_id", "title")) == [("old", "Old")]


def test_bad_rows_are_reported_with_their_line_and_the_rest_imported(tmp_path):
    path = generic_csv(tmp_path, "id,title,artist\na,First,Ann\n,No id,Cy\nc,Third,Dee\n")
    result = catalog_import_file(csv_path=path, format="generic", slug="lab", analyse=False)
    assert result.summary.created == 2 and result.sent is None
    assert [(p.line, "id" in p.reason) for p in result.summary.problems] == [(3, True)]
