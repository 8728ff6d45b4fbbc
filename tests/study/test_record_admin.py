"""The participants' record cannot be altered in the admin, not even by a superuser."""
import pytest
from django.contrib.auth import get_user_model

from study.models import Assignment, PageVisit, Participant, Recommendation, Response

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished(browser, liked):
    browser.complete(liked)
    return browser.participant


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser(username="boss", password="x", email="")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["response", "recommendation", "participant"])
def test_no_one_can_add_change_or_delete_the_record_in_the_admin(admin_client, finished, model):
    row = {"response": finished.responses.first(), "recommendation": finished.recommendations.first(),
           "participant": finished}[model]
    assert admin_client.get(f"/admin/study/{model}/add/").status_code == 403
    assert admin_client.get(f"/admin/study/{model}/{row.pk}/delete/").status_code == 403
    change = f"/admin/study/{model}/{row.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200 and b'type="submit"' not in page.content.split(b'id="content-main"')[1]
    assert admin_client.post(change, {"value": 1}).status_code == 403
    deleted = admin_client.post(f"/admin/study/{model}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert deleted.status_code in (200, 302, 403)
    assert type(row).objects.filter(pk=row.pk).exists()


def test_the_participant_page_shows_the_record_without_add_rows_or_editable_fields(admin_client, finished):
    page = admin_client.get(f"/admin/study/participant/{finished.pk}/change/")
    html = page.content.decode()
    for formset in page.context["inline_admin_formsets"]:
        assert not formset.has_add_permission and not formset.has_change_permission and not formset.has_delete_permission
    assert 'name="assignment-0-position"' not in html and 'name="responses-0-value"' not in html
    assert Assignment.objects.filter(participant=finished).count() == 1
    assert PageVisit.objects.filter(participant=finished).exists()


def test_the_record_stays_whole_after_admin_attempts(admin_client, finished):
    before = (Response.objects.count(), Recommendation.objects.count(), Participant.objects.count())
    admin_client.post("/admin/study/response/add/", {"participant": finished.pk, "value": 1})
    admin_client.post(f"/admin/study/participant/{finished.pk}/delete/", {"post": "yes"})
    assert (Response.objects.count(), Recommendation.objects.count(), Participant.objects.count()) == before
