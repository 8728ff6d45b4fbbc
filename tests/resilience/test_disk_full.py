"""The disk that holds media fills up: uploads fail with a clear message and leave nothing behind; spectrogram
pictures cannot be saved, and participants carry on with the fallback explanation (marked on the recommendation)."""
import errno
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recommender.models import Catalog, Track
from study.models import Participant
from tests.factories import tone_bytes
from tests.participants import ParticipantBrowser
from tests.recommender.test_admin_import import zipped
from tests.resilience.conftest import require

pytestmark = [pytest.mark.resilience, pytest.mark.django_db(transaction=True)]


@contextmanager
def full_disk(folder: Path):
    """A 256 KiB tmpfs mounted on ``folder`` and filled to the last byte."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True)
    require(mounted.returncode == 0, f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        try:
            with (folder / "filler").open("wb") as filler:
                while True:
                    filler.write(b"\0" * 4096)
                    filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC  # noqa: PT017 (the fixture checks its own disk is full)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_with_the_media_disk_full_participants_get_the_fallback_explanation(drill_study, drill_catalog, drill_media):
    with full_disk(drill_media / "spectrograms"):  # where each track's spectrogram picture is saved
        browser = ParticipantBrowser(drill_study)
        browser.get()
        browser.consent()
        page = browser.get_recommendations(drill_catalog.tracks.order_by("pk").first())

        assert page.status_code == 200 and browser.page() == Participant.Page.RATE
        recommendations = browser.participant.recommendations.all()
        assert recommendations.count() == 10
        for recommendation in recommendations:
            assert recommendation.spectrogram_explanation is None
            assert "No space left on device" in recommendation.explanation_fallback
        assert page.content.decode().count("could not be prepared in time") == 10


def test_with_the_media_disk_full_an_upload_fails_clearly_and_leaves_nothing(admin_client, drill_media):
    clips = zipped({"a.ogg": tone_bytes(seconds=8, freq=330, fmt="OGG"), "b.ogg": tone_bytes(seconds=8, fmt="OGG")})
    with full_disk(drill_media / "catalog"):
        response = admin_client.post(
            "/admin/recommender/catalog/import/",
            {
                "new_catalog_name": "Lab clips",
                "format": "generic",
                "csv_file": SimpleUploadedFile("t.csv", b"id,title,artist,audio\na,A,B,a.ogg\nb,B,C,b.ogg\n", "text/csv"),
                "clips": SimpleUploadedFile("clips.zip", clips, "application/zip"),
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "No space left on device" in response.content.decode()
    assert not Catalog.objects.filter(slug="lab-clips").exists()
    assert not Track.objects.exists()
