import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recommender.models import Catalog, Track
from tests.factories import tone_bytes

# Analysis jobs are sent once the import commits (a worker must find the tracks), as in a deployment.
pytestmark = pytest.mark.django_db(transaction=True)


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_researcher_uploads_a_csv_and_a_zip_of_clips_in_the_admin(admin_client, django_capture_on_commit_callbacks):
    csv_text = "id,title,artist,genre,audio\na,First,Ann,pop,a.ogg\nb,Second,Bob,rock,clips/b.ogg\n,No Id,Cy,pop,\n"
    clips = zipped({"a.ogg": tone_bytes(freq=330, fmt="OGG"), "clips/b.ogg": tone_bytes(freq=660, fmt="OGG"), "../../evil.ogg": b"x", "readme.txt": b"hi"})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/recommender/catalog/import/",
            {
                "new_catalog_name": "Lab clips",
                "format": "generic",
                "csv_file": SimpleUploadedFile("tracks.csv", csv_text.encode(), "text/csv"),
                "clips": SimpleUploadedFile("clips.zip", clips, "application/zip"),
            },
            follow=True,
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 tracks created" in page and "line 4: id is missing" in page
    catalog = Catalog.objects.get(slug="lab-clips")
    assert sorted(catalog.tracks.values_list("external_id", "status")) == [("a", "analysed"), ("b", "analysed")]
    assert "<progress" in page and "2 / 2" in page


def test_the_import_form_explains_a_broken_zip(admin_client):
    response = admin_client.post(
        "/admin/recommender/catalog/import/",
        {
            "new_catalog_name": "Broken",
            "format": "generic",
            "csv_file": SimpleUploadedFile("t.csv", b"id,title,artist,audio\na,A,B,a.ogg\n", "text/csv"),
            "clips": SimpleUploadedFile("clips.zip", b"not a zip", "application/zip"),
        },
    )
    assert response.status_code == 200
    assert "Cannot import this upload" in response.content.decode()
    assert not Track.objects.exists()


def test_the_import_page_opens(admin_client):
    assert admin_client.get("/admin/recommender/catalog/import/").status_code == 200
    assert b"Import tracks" in admin_client.get("/admin/recommender/catalog/").content
