import pytest

from study.models import Study
from tests.factories import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(demo_catalog):
    return make_study(
        demo_catalog,
        conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("both", "both"), ("control", "none")],
    )


def test_the_gallery_shows_every_condition_s_explanation_of_each_sample_pair(study, admin_client):
    page = admin_client.get(f"/admin/study/study/{study.pk}/gallery/?n=3")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<th>Liked: ") == 3
    # features + both show a chart, spectrogram + both a spectrogram, control nothing
    assert html.count('class="explanation explanation-features"') == 3 * 2
    assert html.count('class="explanation explanation-spectrogram"') == 3 * 2
    assert html.count('class="none"') == 3
    styles = {row.split("(")[1].split(")")[0] for row in html.split("Liked: ")[1:]}
    assert len(styles) == 3  # one liked track per style first


def test_the_gallery_is_for_staff_only(study, client, django_user_model):
    assert client.get(f"/admin/study/study/{study.pk}/gallery/").status_code == 302
    user = django_user_model.objects.create_user("participant-ish", password="x")
    client.force_login(user)
    assert client.get(f"/admin/study/study/{study.pk}/gallery/").status_code == 302


def test_the_study_page_links_to_its_gallery(study, admin_client):
    page = admin_client.get(f"/admin/study/study/{study.pk}/change/")
    assert f"/admin/study/study/{study.pk}/gallery/".encode() in page.content
    assert Study.objects.count() == 1
