"""Conditions differ in the explanation and in nothing else: recommendations, pages, questions, language."""
import re

import pytest

from study.models import PageVisit
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)
CONDITIONS = ["features", "spectrogram", "both", "control"]


def walk(study, slug, liked, language=None):
    """One participant through the whole study in one condition; what they were shown and asked."""
    study.conditions.update(is_active=False)
    study.conditions.filter(slug=slug).update(is_active=True)
    browser = ParticipantBrowser(study)
    if language:
        browser.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    browser.get()
    browser.consent()
    rate_page = browser.get_recommendations(*liked).content.decode()
    questions = re.findall(r'data-field="([^"]+)"', rate_page)
    recommendations = list(browser.participant.recommendations.values_list("track_id", "seed_track_id", "score"))
    questionnaire = browser.post("rate", browser.rating_answers()).content.decode()
    questions += re.findall(r'data-field="([^"]+)"', questionnaire)
    browser.post("questionnaire", browser.questionnaire_answers())
    pages = list(PageVisit.objects.filter(participant=browser.participant).order_by("entered_at").values_list("page", flat=True))
    return {
        "players": sorted(re.findall(r'<audio [^>]*data-role="(\w+)"', rate_page)),
        "recommendations": recommendations,
        "questions": [re.sub(r"__\d+$", "__rec", q) for q in questions],
        "pages": pages,
        "language": browser.participant.language,
        "html_lang": re.search(r'<html lang="([^"]+)"', rate_page)[1],
    }


def test_every_condition_gets_the_same_recommendations_pages_and_questions(study, liked):
    walks = {slug: walk(study, slug, liked) for slug in CONDITIONS}
    reference = walks["control"]
    assert len(reference["recommendations"]) == study.n_recommendations
    for slug, seen in walks.items():
        assert seen["recommendations"] == reference["recommendations"], slug
        assert seen["questions"] == reference["questions"], slug
        # The same players: the recommended clips everywhere; the liked track in every explanation condition
        # (the control group is not told which track a recommendation came from, so has no player for it).
        assert seen["players"] == (reference["players"] if slug == "control" else walks["features"]["players"]), slug
        # The job runs inside the request here, so nobody stops on the waiting page.
        assert seen["pages"] == reference["pages"] == ["consent", "instructions", "pre", "choose", "rate", "questionnaire", "done"]


def test_every_condition_speaks_the_participant_s_language(study, liked):
    for slug in CONDITIONS:
        seen = walk(study, slug, liked, language="de")
        assert (seen["language"], seen["html_lang"]) == ("de", "de"), slug


def test_both_explanation_conditions_state_the_similarity_score(study, liked):
    """The score is a fact of the recommendation: either every explanation states it, or none does."""
    for slug in ("features", "spectrogram"):
        study.conditions.update(is_active=False)
        study.conditions.filter(slug=slug).update(is_active=True)
        browser = ParticipantBrowser(study)
        browser.get()
        browser.consent()
        browser.get_recommendations(*liked)
        for recommendation in browser.participant.recommendations.all():
            explanation = recommendation.feature_explanation or recommendation.spectrogram_explanation
            assert f"{recommendation.score:.2f}" in explanation.alt_text, (slug, explanation.alt_text)
