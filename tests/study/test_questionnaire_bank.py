"""The questionnaire bank is faithful to its sources: every item's published text and scale as printed, whole
scales, the right source and construct; a study that drops or rewords items says so in its codebook."""
import csv
import io
import json
from pathlib import Path

import pytest

from research.export_files import study_export
from study import questionnaires
from study.models import Item
from tests.factories import make_study

PUBLISHED = json.loads((Path(__file__).parent / "data" / "published_items.json").read_text())


@pytest.mark.parametrize("key", sorted(questionnaires.SCALES))
def test_every_bank_scale_is_complete_with_each_item_as_published(key):
    scale, published = questionnaires.SCALES[key], PUBLISHED[key]
    assert [(i["published"], i["reverse"]) for i in scale["items"]] == [tuple(i) for i in published["items"]]
    assert scale["points"] == published["points"]
    assert [a.lower() for a in scale["anchors"]] == [a.lower() for a in published["anchors"]]
    assert scale["citation"] and scale["source"].split(" (")[0] in {
        "ResQue", "Trust between People and Automation", "Explanation Satisfaction Scale"}


def test_the_musical_training_item_is_gold_msi_item_36_with_its_published_options_and_codes():
    item = next(i for i in questionnaires.PRE_ITEMS if i["code"] == "musical_training")
    assert item["published_text"] == item["text"] == PUBLISHED["gold_msi_36"]["text"]
    assert [[code, label] for code, label in item["options"]] == PUBLISHED["gold_msi_36"]["options"]
    assert "item 36" in item["source"] and "Müllensiefen" in item["source"]


def test_our_own_items_are_not_credited_to_an_instrument():
    novelty = next(i for i in questionnaires.RATING_ITEMS if i["code"] == "novelty")
    assert novelty["source"].startswith("Resonance") and "ResQue" not in novelty["source"]


@pytest.mark.django_db
def test_a_study_gets_each_scale_on_its_own_response_scale_with_both_wordings(demo_catalog):
    study = make_study(demo_catalog, scales=["jian_trust", "explanation_satisfaction", "resque_trust"])
    jian = Item.objects.filter(study=study, bank_scale="jian_trust")
    assert jian.count() == 12 and {(i.scale_min, i.scale_max, i.label_min, i.label_max) for i in jian} == {
        (1, 7, "Not at all", "Extremely")}
    ess = Item.objects.get(study=study, code="ess_understand")
    assert (ess.scale_max, ess.label_min, ess.label_max) == (5, "I disagree strongly", "I agree strongly")
    assert ess.adapted and ess.published_text.startswith("From the explanation, I understand how the [software")
    assert ess.text == "From the explanations, I understand how the recommender works."
    assert set(Item.objects.filter(study=study, reverse_coded=True).values_list("code", flat=True)) == {
        "jian_deceptive", "jian_underhanded", "jian_suspicious", "jian_wary", "jian_harmful", "resque_confused"}


@pytest.mark.django_db(transaction=True)
def test_the_codebook_records_dropped_items_and_every_change_from_the_bank(demo_catalog):
    study = make_study(demo_catalog, scales={"jian_trust": ["jian_trust", "jian_reliable", "jian_deceptive"]})
    Item.objects.filter(study=study, code="jian_trust").update(text="I trust the recommender.", scale_max=5)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(
        study_export(study=study, format="codebook", exported_by="t").content.decode()))}
    trust = rows["trust_in_automation_jian_trust"]
    assert trust["bank_scale"] == "jian_trust"
    assert trust["dropped_from_scale"].split() == [
        "jian_underhanded", "jian_suspicious", "jian_wary", "jian_harmful", "jian_confident", "jian_security",
        "jian_integrity", "jian_dependable", "jian_familiar"]
    assert "text: bank 'I can trust the system.', study 'I trust the recommender.'" in trust["changed_from_bank"]
    assert "scale_max: bank 7, study 5" in trust["changed_from_bank"]
    assert rows["trust_in_automation_jian_reliable"]["changed_from_bank"] == ""
    assert "Resonance's own translation" in trust["translations"]
    with pytest.raises(ValueError, match="has no item"):
        questionnaires.default_items({"jian_trust": ["made_up"]})


@pytest.mark.django_db(transaction=True)  # the recommendation job is sent when the request commits
def test_the_attention_check_asks_each_participant_for_an_inner_value_of_their_own(study, liked):
    from research.export import participant_summaries
    from tests.participants import ParticipantBrowser

    check = study.items.get(check_kind="attention")
    assert check.correct_value is None and "{value}" in check.text
    asked = set()
    for n in range(6):
        browser = ParticipantBrowser(study)
        browser.get(lang="de" if n % 2 else "en")
        browser.consent()
        browser.get_recommendations(*liked)
        browser.post("rate", browser.rating_answers())
        page = browser.get("questionnaire").content.decode()
        value = browser.participant.instructed["attention_check"]
        assert check.scale_min < value < check.scale_max  # never an end: answering 1 (or 5) throughout fails
        sentence = (f"wählen Sie bei dieser Aussage bitte {value}." if n % 2
                    else f"please choose {value} for this statement.")
        assert sentence in page
        assert browser.get("questionnaire").content.decode().count(sentence) == 1  # a reload asks the same
        asked.add(value)
        answers = browser.questionnaire_answers(value=1)
        if n < 3:
            answers["attention_check"] = value
        browser.post("questionnaire", answers)
        passed = participant_summaries(study)[browser.participant.pk]["attention_passed"]
        assert passed is (n < 3)
    assert len(asked) >= 2  # drawn, not fixed


def test_an_attention_check_without_a_fixed_answer_must_say_where_the_value_goes(study):
    from django.core.exceptions import ValidationError

    check = study.items.get(check_kind="attention")
    check.text = "Please choose the middle."
    with pytest.raises(ValidationError, match="leave it empty and write"):
        check.full_clean()
