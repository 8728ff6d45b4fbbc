"""What a participant needs to finish: where they are, the whole catalog, a clear door, their language."""
import csv
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from research.export import long_rows
from study import services
from study.models import ListeningEvent, Participant, StudyTranslation
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_page_says_which_step_it_is(browser, liked):
    assert "Step 1 of 6" in browser.get().content.decode()
    browser.consent_only()
    assert "Step 2 of 6" in browser.get().content.decode()
    browser.post("instructions", {})
    browser.post("about-you", browser.pre_answers())
    assert "Step 4 of 6" in browser.get().content.decode()
    assert "Step 5 of 6" in browser.get_recommendations(*liked).content.decode()


def test_search_pages_reach_every_track_once_and_say_how_many_match(study, demo_catalog):
    analysed = set(demo_catalog.tracks.filter(status="analysed").values_list("pk", flat=True))
    pages = [services.catalog_search(study=study, query="", page=n, page_size=5) for n in (1, 2, 3)]
    seen = [track.pk for page in pages for track in page.tracks]
    assert sorted(seen) == sorted(analysed) and len(seen) == len(set(seen))
    assert {page.total for page in pages} == {len(analysed)} and pages[0].pages == 3
    assert (pages[1].first, pages[1].last) == (6, 10)
    # A page number past the end shows the last page, not an empty list.
    assert services.catalog_search(study=study, query="", page=99, page_size=5).page == 3


def test_the_choose_page_says_how_many_tracks_match(browser, demo_catalog):
    browser.get()
    browser.consent()
    html = browser.get("choose").content.decode()
    assert f"{demo_catalog.tracks.count()} tracks match; showing 1–{demo_catalog.tracks.count()}." in html


def test_liking_from_the_page_script_answers_with_the_choice_and_does_not_reload(browser, liked):
    browser.get()
    browser.consent()
    response = browser.client.post(
        browser.url("choose"), {"action": "like", "track": liked[0].pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    state = response.json()
    assert state["liked"] == [{"id": liked[0].pk, "title": liked[0].title, "artist": liked[0].artist}]
    assert state["can_continue"] is True and state["full"] is False
    response = browser.client.post(browser.url("choose"), {"action": "like", "track": "x1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and response.json()["error"]


def test_a_prolific_only_study_turns_away_a_visit_without_a_prolific_id_and_stores_nothing(study):
    study.open_to_anyone = False
    study.save()
    page = ParticipantBrowser(study).get()
    assert page.status_code == 403
    assert "Please open it through the link on Prolific" in page.content.decode()
    assert not Participant.objects.exists()
    page = ParticipantBrowser(study).get(PROLIFIC_PID="5f1e2d3c4b5a69788796a5b4")
    assert page.redirect_chain[-1][0].endswith("/consent/")
    assert Participant.objects.count() == 1


def test_the_study_s_own_texts_are_shown_in_the_participant_s_language_and_the_language_is_exported(study, liked):
    study.description = "An English description."
    study.save()
    StudyTranslation.objects.create(
        study=study, language="de", title="Eine Musikstudie", description="Eine deutsche Beschreibung.",
        consent_text="Sie stimmen der Teilnahme zu.", debrief_text="Vielen Dank, das war die Studie.",
    )
    german = ParticipantBrowser(study)
    html = german.get(lang="de").content.decode()
    assert "Eine Musikstudie" in html and "Eine deutsche Beschreibung." in html and "Sie stimmen der Teilnahme zu." in html
    assert "An English description." not in html
    english = ParticipantBrowser(study)
    html = english.get().content.decode()
    assert "Pilot study" in html and "You agree to take part." in html
    for browser in (german, english):
        browser.complete(liked)
    assert "Vielen Dank, das war die Studie." in german.get("done").content.decode()
    assert {german.participant.language, english.participant.language} == {"de", "en"}
    languages = {(row["participant"], row["language"]) for row in long_rows(study)}
    assert languages == {(german.participant.pk, "de"), (english.participant.pk, "en")}


def test_create_demo_study_never_changes_an_existing_account(demo_catalog):
    user = get_user_model().objects.create_user(username="admin", password="the owners-own-secret-1", is_staff=False)
    out = io.StringIO()
    call_command("create_demo_study", stdout=out)
    user.refresh_from_db()
    assert user.check_password("the owners-own-secret-1")
    assert not user.is_superuser and not user.is_staff
    assert "existing account" in out.getvalue() and "password '" not in out.getvalue()


def test_create_demo_study_makes_a_new_admin_with_a_fresh_password(demo_catalog):
    out = io.StringIO()
    call_command("create_demo_study", "--admin-user", "researcher", stdout=out)
    user = get_user_model().objects.get(username="researcher")
    assert user.is_superuser and "password '" in out.getvalue()
    assert StudyTranslation.objects.filter(study__slug="demo", language="de").exists()


def test_a_flood_of_player_events_is_dropped_not_stored(browser, liked):
    browser.get()
    browser.consent()
    statuses = [
        browser.client.post(browser.url("listen"), {"track": liked[0].pk, "event": "progress", "position": i % 4}).status_code
        for i in range(60)
    ]
    assert statuses.count(200) == services.listening.RATE_LIMIT
    assert statuses.count(429) == 60 - services.listening.RATE_LIMIT
    assert ListeningEvent.objects.count() == services.listening.RATE_LIMIT


@pytest.mark.parametrize(
    "fields",
    [{"track": "1" * 30, "event": "play", "position": 0}, {"track": 1, "event": "play", "position": "inf"},
     {"track": 1, "event": "play", "position": "nan"}, {"track": 1, "event": "play"}, {"track": "", "event": "x"}],
    ids=["long-id", "infinite", "nan", "no-position", "empty"],
)
def test_malformed_player_events_get_a_4xx(browser, liked, fields):
    browser.get()
    browser.consent()
    response = browser.client.post(browser.url("listen"), fields)
    assert 400 <= response.status_code < 500
    assert not ListeningEvent.objects.exists()


def test_the_export_gives_the_seconds_heard_per_recommendation(browser, liked, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    first = browser.participant.recommendations.first()
    browser.client.post(browser.url("listen"), {"track": first.track_id, "event": "play", "position": 0})
    ListeningEvent.objects.update(created_at=timezone.now() - timedelta(seconds=10))
    browser.client.post(browser.url("listen"), {"track": first.track_id, "event": "pause", "position": 2.5})
    browser.post("rate", browser.rating_answers())
    out = tmp_path / "answers.csv"
    call_command("export_responses", browser.study.slug, "--format", "csv", "--out", str(out), "--reason", "test")
    rows = list(csv.DictReader(out.open()))
    heard = {row["recommendation_rank"]: row["listened_s"] for row in rows if row["section"] == "rating"}
    assert heard["1"] == "2.5" and heard["2"] == "0.0"
    assert all(row["listened_s"] == "" for row in rows if row["section"] != "rating")


def test_asking_for_recommendations_returns_at_once_and_the_wait_page_shows_progress(browser, liked, settings):
    settings.EAGER_JOBS_IN_BACKGROUND = True  # the embedded default: the job runs in a thread beside the request
    browser.get()
    browser.consent()
    browser.like(*liked)
    started = time.monotonic()
    page = browser.post("choose", {"action": "continue"})
    assert page.redirect_chain[-1][0] == browser.url("wait")
    assert time.monotonic() - started < 2
    assert b'class="job-progress"' in page.content
    deadline = time.monotonic() + 60
    while not (state := browser.client.get(browser.url("status")).json())["ready"]:
        assert "progress" in state and time.monotonic() < deadline
        time.sleep(0.2)
    assert browser.participant.recommendations.count() == 5 and browser.page() == "rate"


def test_the_debrief_names_the_groups_this_study_really_had(study, liked):
    """Two conditions (features, spectrograms): the debrief names those two, not "both" or "none"."""
    study.conditions.filter(slug__in=["both", "control"]).update(is_active=False)
    done = ParticipantBrowser(study).complete(liked).content.decode()
    assert "one of these groups: charts of musical features; pictures of the sound (spectrograms)." in done
    assert "no explanation" not in done and "both charts" not in done
    assert 'rel="icon"' in done  # every page names its icon: no 404 for /favicon.ico in the console
