"""Participant pages in English and German (Django i18n)."""
from pathlib import Path

import pytest

from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_german_browser_gets_german_pages_and_questions(study, liked):
    browser = ParticipantBrowser(study)
    browser.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    page = browser.get()
    assert "Information und Einwilligung" in page.content.decode()
    browser.consent_only()
    page = browser.post("instructions", {})
    html = page.content.decode()
    assert "Wie alt sind Sie?" in html and "Keine Angabe" in html
    page = browser.post("about-you", {"age_band": 1})
    assert "Bitte beantworten Sie alle Fragen" in page.content.decode()


def test_the_study_link_can_choose_the_language(study):
    browser = ParticipantBrowser(study)
    page = browser.get(lang="de")
    assert "Ich stimme zu und möchte teilnehmen" in page.content.decode()
    page = ParticipantBrowser(study).get()
    assert "I agree and want to take part" in page.content.decode()


def test_answers_are_stored_the_same_whatever_the_language(study, liked):
    english, german = ParticipantBrowser(study), ParticipantBrowser(study)
    german.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    for browser in (english, german):
        browser.complete(liked)
    values = [sorted(b.participant.responses.values_list("item__code", "value")) for b in (english, german)]
    assert [code for code, _ in values[0]] == [code for code, _ in values[1]]


def test_every_participant_facing_text_has_a_german_translation():
    catalogue = (Path(__file__).resolve().parents[2] / "locale" / "de" / "LC_MESSAGES" / "django.po").read_text()
    untranslated = []
    for entry in catalogue.split("\n\n")[1:]:  # the first entry is the header
        lines = [line for line in entry.splitlines() if not line.startswith("#")]
        msgstr = "".join(line.split('"', 1)[1].rsplit('"', 1)[0] for line in lines[_index(lines, "msgstr") :])
        if not msgstr:
            untranslated.append(lines[0])
        assert "#, fuzzy" not in entry, entry
    assert untranslated == []


def _index(lines, keyword):
    return next(i for i, line in enumerate(lines) if line.startswith(keyword))


def test_a_participant_keeps_the_language_they_consented_in_whatever_link_or_browser_returns(study):
    """Consent in German; the same Prolific link without ?lang=, with ?lang=en, or in an English
    browser still shows German pages, German error messages, and the export keeps saying de."""
    link = {"PROLIFIC_PID": "0123456789abcdef01234507", "STUDY_ID": "s", "SESSION_ID": "x"}
    german = ParticipantBrowser(study)
    german.get(**link, lang="de")
    german.consent_only()
    assert german.participant.language == "de"

    for params, accept in (({}, "en"), ({"lang": "en"}, "en-GB,en;q=0.9")):
        returning = ParticipantBrowser(study)
        returning.client.defaults["HTTP_ACCEPT_LANGUAGE"] = accept
        page = returning.get(**link, **params)
        html = page.content.decode()
        assert page.request["PATH_INFO"].endswith("/instructions/")
        assert '<html lang="de">' in html and "So funktioniert diese Studie" in html
        reply = returning.client.post(
            f"/s/{study.slug}/answer/", {"item": "age_band", "value": 1}, content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=accept,
        )
        assert reply.status_code == 409 and reply.json()["error"].startswith("Dieser Schritt ist bereits erledigt")
    assert study.participants.get().language == "de"
