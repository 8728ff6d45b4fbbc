"""What a researcher does from the study's admin page: watch it live, read the analysis, download every format,
and delete one participant's data on request; each export and deletion is in the audit log."""
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from research import services as research_services
from research.bots import bots_run
from study import services
from study.models import Assignment, AuditEntry, Participant, Response
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def piloted(study):
    bots_run(study=study, n=4, dropout=0.0, pattern="careful", seed=2)
    study.state = "open"
    study.save()
    return study


def test_the_monitor_shows_each_condition_s_flow_and_refreshes_itself(piloted, admin_client, liked):
    browser = ParticipantBrowser(piloted)
    browser.get(PROLIFIC_PID="5f3a9c0d1b2e4f6a7c8d9e77")
    browser.consent()  # a real participant, still choosing
    page = admin_client.get(f"/admin/study/study/{piloted.pk}/monitor/")
    html = page.content.decode()
    assert page.status_code == 200 and 'http-equiv="refresh"' in html
    assert f"Monitor: Pilot study ({piloted.slug})" in html  # a duplicate keeps the title, never the slug
    assert "4 pilot participants left out" in html and "1 entered" in html
    with_pilots = admin_client.get(f"/admin/study/study/{piloted.pk}/monitor/?pilot=1").content.decode()
    assert "5 entered" in with_pilots and "data:image/png;base64," in with_pilots
    from research.monitor import study_monitor

    monitor = study_monitor(study=piloted, include_pilot=True)
    assert sum(c.assigned for c in monitor.conditions) == 5 and sum(c.finished for c in monitor.conditions) == 4
    assert sum(c.in_progress for c in monitor.conditions) == 1
    later = study_monitor(study=piloted, include_pilot=True, now=timezone.now() + timedelta(hours=2))
    assert sum(c.dropped for c in later.conditions) == 1 and later.dropout_by_page == {"choose": 1}


def test_the_study_page_links_every_researcher_page_and_each_works(piloted, admin_client):
    change = admin_client.get(f"/admin/study/study/{piloted.pk}/change/").content.decode()
    for part in ("gallery", "monitor", "analysis", "export/wide", "export/spss", "delete-participant"):
        assert f"/admin/study/study/{piloted.pk}/{part}/" in change
    for fmt in ("long", "wide", "events", "xlsx", "spss"):  # every per-participant file, with pilots too
        assert f"/admin/study/study/{piloted.pk}/export/{fmt}/?pilot=1" in change
    analysis = admin_client.get(f"/admin/study/study/{piloted.pk}/analysis/?pilot=1").content.decode()
    assert "Analysis: Pilot study" in analysis and "data:image/png;base64," in analysis
    assert "they are not held to the minimum duration" in analysis  # why finished bots count as analysed
    wide = admin_client.get(f"/admin/study/study/{piloted.pk}/export/wide/?pilot=1")
    assert wide.status_code == 200 and wide["Content-Disposition"].endswith('-wide-with-pilot.csv.zip"')
    table = zipfile.ZipFile(io.BytesIO(wide.content)).read(f"{piloted.slug}-wide-with-pilot.csv").decode()
    assert len(table.strip().splitlines()) == 5
    assert admin_client.get(f"/admin/study/study/{piloted.pk}/export/pdf/").status_code == 404
    assert AuditEntry.objects.filter(actor="admin:admin", action="export").count() == 1


def test_a_participant_s_data_is_deleted_on_request_and_logged_without_their_id(study, liked, admin_client):
    browsers = []
    for pid in ("5f3a9c0d1b2e4f6a7c8d9e01", "5f3a9c0d1b2e4f6a7c8d9e02"):
        browser = ParticipantBrowser(study)
        browser.get(PROLIFIC_PID=pid)
        browser.consent()
        browser.get_recommendations(*liked)
        browsers.append(browser)
    gone = browsers[0].participant
    page = admin_client.post(f"/admin/study/study/{study.pk}/delete-participant/",
                             {"prolific_pid": "5f3a9c0d1b2e4f6a7c8d9e01", "confirm": "on"}, follow=True)
    assert page.status_code == 200 and "Deleted:" in page.content.decode()
    assert not Participant.objects.filter(pk=gone.pk).exists()
    assert not Response.objects.filter(participant_id=gone.pk).exists()
    assert Participant.objects.filter(study=study).count() == 1
    entry = AuditEntry.objects.get(action="delete_participant")
    assert entry.actor == "admin:admin" and "5f3a9c0d1b2e4f6a7c8d9e01" not in str(entry.detail)
    assert entry.detail["deleted"]["answers"] > 0 and entry.detail["condition"]
    # Unknown ids are refused with a reason; nothing else changes.
    again = admin_client.post(f"/admin/study/study/{study.pk}/delete-participant/",
                              {"prolific_pid": "5f3a9c0d1b2e4f6a7c8d9e01", "confirm": "on"})
    assert "No participant of study" in again.content.decode()
    with pytest.raises(CommandError, match="No participant"):
        call_command("delete_participant", study.slug, "--pid", "nobody")
    call_command("delete_participant", study.slug, "--pid", "5f3a9c0d1b2e4f6a7c8d9e02", "--by", "dr-lee", stdout=io.StringIO())
    assert AuditEntry.objects.filter(action="delete_participant", actor="dr-lee").exists()


def test_after_a_deletion_randomisation_counts_only_who_is_there_and_blocks_are_never_dealt_twice(study):
    study.randomisation = "permuted_block"
    study.save()
    people = []
    for i in range(3):
        participant = services.participant_enter(study=study, session_token=None, prolific_pid=f"pid-{i}")
        services.participant_consent(participant=participant, agree=True, language="en")
        people.append(participant)
    research_services.participant_delete(study=study, prolific_pid="pid-2", actor="test")
    newcomer = services.participant_enter(study=study, session_token=None, prolific_pid="pid-3")
    services.participant_consent(participant=newcomer, agree=True, language="en")
    assert sorted(Assignment.objects.values_list("position", flat=True)) == [1, 2, 4]


def test_identifiers_are_purged_after_the_retention_period_and_the_answers_stay(study, liked, settings):
    old, new = ParticipantBrowser(study), ParticipantBrowser(study)
    old.get(PROLIFIC_PID="5f3a9c0d1b2e4f6a7c8d9e01", STUDY_ID="s1", SESSION_ID="x1")
    old.consent()
    new.get(PROLIFIC_PID="5f3a9c0d1b2e4f6a7c8d9e02", STUDY_ID="s1", SESSION_ID="x2")
    Participant.objects.filter(pk=old.participant.pk).update(started_at=timezone.now() - timedelta(days=40))
    answers = Response.objects.filter(participant=old.participant).count()
    with pytest.raises(CommandError, match="Give --days"):
        call_command("purge_identifiers")
    out = io.StringIO()
    call_command("purge_identifiers", "--days", "30", stdout=out)
    assert "1 participants" in out.getvalue()
    purged = Participant.objects.get(pk=old.participant.pk)
    assert (purged.prolific_pid, purged.prolific_study_id, purged.prolific_session_id) == ("", "", "")
    assert Response.objects.filter(participant=purged).count() == answers > 0
    assert Participant.objects.get(pk=new.participant.pk).prolific_pid == "5f3a9c0d1b2e4f6a7c8d9e02"
    entry = AuditEntry.objects.get(action="purge_identifiers")
    assert entry.detail["participants"] == 1 and entry.study == study
    settings.RETENTION_DAYS = 30
    from research.tasks import purge_identifiers

    assert purge_identifiers.apply().get() == 0  # nothing left to purge


def test_the_audit_log_is_for_reading_only(admin_client, study):
    AuditEntry.objects.create(actor="x", action="export", study=study)
    assert admin_client.get("/admin/study/auditentry/").status_code == 200
    assert admin_client.get("/admin/study/auditentry/add/").status_code == 403


def test_the_condition_chart_counts_whole_participants_from_zero_even_before_anyone_arrives(study, monkeypatch):
    from research import monitor as monitor_module

    drawn = []
    monkeypatch.setattr(monitor_module, "_png_uri", lambda fig: drawn.append(fig) or "data:image/png;base64,")
    monitor_module.study_monitor(study=study)
    (axes,) = [fig.axes[0] for fig in drawn if fig.axes[0].get_xlabel() == "Participants assigned"]
    low, high = axes.get_xlim()
    assert low == 0 and high >= 1  # not matplotlib's -0.04 to 0.04 around nothing
    assert all(float(tick).is_integer() for tick in axes.get_xticks())


def test_a_participant_without_a_prolific_id_is_deleted_by_pseudonym_or_p_number(study, liked, admin_client):
    from research.export import pseudonym

    anonymous = []
    for _ in range(2):  # a study open to anyone: no Prolific id
        browser = ParticipantBrowser(study)
        browser.get()
        browser.consent()
        anonymous.append(browser.participant)
    assert all(p.prolific_pid == "" for p in anonymous)
    page = admin_client.post(f"/admin/study/study/{study.pk}/delete-participant/",
                             {"prolific_pid": pseudonym(anonymous[0].pk), "confirm": "on"}, follow=True)
    assert "Deleted:" in page.content.decode() and not Participant.objects.filter(pk=anonymous[0].pk).exists()
    entry = AuditEntry.objects.get(action="delete_participant")
    assert entry.detail["participant_pseudonym"] == pseudonym(anonymous[0].pk)
    call_command("delete_participant", study.slug, "--participant", f"P{anonymous[1].pk}", stdout=io.StringIO())
    assert not Participant.objects.filter(pk=anonymous[1].pk).exists()
    with pytest.raises(CommandError, match="No participant"):
        call_command("delete_participant", study.slug, "--participant", f"P{anonymous[1].pk}")


def test_a_track_a_participant_liked_heard_or_was_recommended_cannot_be_deleted(study, liked):
    from django.db.models import ProtectedError

    from study.models import ListeningEvent

    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    participant = browser.participant
    heard = participant.recommendations.first()
    ListeningEvent.objects.create(participant=participant, track=heard.track, recommendation=heard, page="rate",
                                  kind="play", position_s=0)
    for track in [*liked, heard.track]:
        with pytest.raises(ProtectedError):
            type(track).objects.get(pk=track.pk).delete()
    assert set(participant.liked_tracks.values_list("pk", flat=True)) == {t.pk for t in liked}
    assert participant.listening.count() == 1
    # A track nobody touched still goes, and a participant's own deletion takes their likes with them.
    untouched = study.catalog.tracks.exclude(pk__in=[*[t.pk for t in liked], *participant.recommendations.values_list("track_id", flat=True),
                                                     *participant.recommendations.values_list("seed_track_id", flat=True)]).first()
    untouched.delete()
    research_services.participant_delete(study=study, reference=f"P{participant.pk}", actor="test")
    from study.models import LikedTrack

    assert not LikedTrack.objects.filter(participant_id=participant.pk).exists()
