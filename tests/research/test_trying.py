"""Trying the study: a researcher previews any condition as a pilot participant in their own browser (even in a
draft), and discards test data before opening; both are audited, and the real participants' randomisation never
notices."""
import pytest

from study.models import AuditEntry, Participant, Study
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def draft(demo_catalog):
    return make_study(demo_catalog, slug="draft", state="draft",
                      conditions=[("features", "features"), ("spectrogram", "spectrogram"), ("control", "none")])


def test_a_researcher_previews_the_condition_they_choose_in_a_draft_and_it_stays_pilot_data(draft, admin_client, liked):
    page = admin_client.get(f"/admin/study/study/{draft.pk}/try/").content.decode()
    assert "Preview “Spectrogram”" in page and "0</strong> pilot participants" in page
    response = admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "preview", "condition": "spectrogram"})
    assert response.status_code == 302 and response["Location"] == "/s/draft/consent/"
    preview = Participant.objects.get(study=draft)
    assert preview.is_pilot and preview.condition.slug == "spectrogram"
    # The researcher's own browser walks it like a participant, past consent, in the chosen condition.
    browser = ParticipantBrowser(draft, client=admin_client)
    browser.consent()
    browser.get_recommendations(liked[0])
    rate = browser.get("rate").content.decode()
    assert 'class="explanation explanation-spectrogram"' in rate
    assert Participant.objects.get(pk=preview.pk).condition.slug == "spectrogram"
    entry = AuditEntry.objects.get(action="preview_condition")
    assert entry.actor == "admin:admin" and entry.detail == {"condition": "spectrogram", "participant": f"P{preview.pk}"}
    assert Study.objects.get(pk=draft.pk).assignments_made == 0  # the real participants' blocks are untouched


def test_test_data_is_discarded_before_opening_and_kept_after(draft, admin_client):
    for slug in ("features", "control"):
        admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "preview", "condition": slug})
    Study.objects.filter(pk=draft.pk).update(state="pilot")
    pilot = ParticipantBrowser(Study.objects.get(pk=draft.pk))
    pilot.get()
    pilot.consent()
    assert Participant.objects.filter(study=draft, is_pilot=True).count() == 3
    page = admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "discard"}, follow=True).content.decode()
    assert "Discarded 3 pilot participants" in page and not Participant.objects.filter(study=draft).exists()
    assert AuditEntry.objects.get(action="discard_test_data").detail["participants"] == 3
    admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "preview", "condition": "control"})
    Study.objects.filter(pk=draft.pk).update(state="open")
    page = admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "discard"}, follow=True).content.decode()
    assert "discarded only before it opens" in page and Participant.objects.filter(study=draft).count() == 1


def test_a_viewer_may_not_try_the_study_and_a_condition_of_another_study_is_refused(draft, demo_catalog, admin_client,
                                                                                  django_user_model, client):
    from django.contrib.auth.models import Permission

    from study.models import StudyMember

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_study"))
    StudyMember.objects.create(study=draft, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.get(f"/admin/study/study/{draft.pk}/try/").status_code == 403
    other = make_study(demo_catalog, slug="other", conditions=[("elsewhere", "features")])
    page = admin_client.post(f"/admin/study/study/{draft.pk}/try/", {"action": "preview", "condition": "elsewhere"},
                             follow=True).content.decode()
    assert "Choose one of this study" in page and not Participant.objects.filter(study__in=[draft, other]).exists()
