"""Nothing changes under a running study (study/frozen.py): once a study has left draft (pilot, open, closed),
its questions, conditions and design are frozen for the admin, imports and every full_clean alike; its texts
change only with a new consent version, which the export shows per participant; every change is logged."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from research.export import Options
from research.export_wide import wide_table
from study.models import AuditEntry, Condition, Item
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running(study, liked):
    """An open study one participant has answered."""
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    browser.post("rate", browser.rating_answers())
    study.refresh_from_db()
    return study


def _item(study):
    return study.items.filter(kind=Item.Kind.LIKERT, section=Item.Section.QUESTIONNAIRE).first()


@pytest.mark.parametrize(("scale_min", "scale_max"), [(9, 1), (3, 3), (1, 200)])
def test_an_impossible_rating_scale_is_refused(study, scale_min, scale_max):
    item = _item(study)
    item.scale_min, item.scale_max = scale_min, scale_max
    with pytest.raises(ValidationError, match="rating scale runs from its minimum"):
        item.full_clean()


@pytest.mark.parametrize("options", [[], [[1, "Yes"]], [[1, "Yes"], [1, "No"]], [["1", "Yes"], [2, "No"]], [[1, ""], [2, "No"]]])
def test_a_choice_item_needs_two_distinct_whole_number_options_with_labels(study, options):
    item = Item(study=study, code="c", section="pre", kind=Item.Kind.CHOICE, text="?", options=options)
    with pytest.raises(ValidationError, match="at least two options"):
        item.full_clean()


def test_an_attention_check_s_answer_lies_on_its_scale(study):
    check = study.items.get(check_kind=Item.Check.ATTENTION)
    check.correct_value = check.scale_max + 1
    with pytest.raises(ValidationError, match="instructed answer"):
        check.full_clean()


def test_a_draft_stays_editable_and_a_study_that_left_draft_is_frozen_even_before_anyone_entered(study):
    study.state = "draft"
    study.save()
    item = _item(study)
    item.text, item.scale_max = "Reworded", 5
    item.full_clean()  # a draft: nothing to protect
    item.save()
    study.n_recommendations = 3
    study.full_clean()
    study.save()
    assert not study.is_frozen

    study.state = "open"
    study.save()
    assert study.is_frozen and not study.participants.exists()
    item.refresh_from_db()
    item.text = "Reworded again"
    with pytest.raises(ValidationError, match="Frozen"):
        item.full_clean()
    study.n_recommendations = 4
    with pytest.raises(ValidationError, match="Frozen: this study has left draft"):
        study.full_clean()


def test_a_pilot_goes_back_to_draft_only_once_its_test_data_is_discarded(study, liked):
    from research.services import study_discard_test_data

    study.state = "pilot"
    study.save()
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    study.state = "draft"
    with pytest.raises(ValidationError, match="discard its test data first"):
        study.full_clean()
    study.refresh_from_db()
    study.state = "closed"
    study.save()
    study.state = "pilot"
    with pytest.raises(ValidationError, match="cannot go back to pilot"):
        study.full_clean()

    study.refresh_from_db()
    study.state = "pilot"
    study.save(update_fields=["state"])
    study_discard_test_data(study=study, actor="test")
    study.state, study.n_recommendations = "draft", 3  # back to draft, and in the same save a fix
    study.full_clean()
    study.save()
    assert not study.is_frozen and study.pinned_indexes == {}


def test_a_study_that_left_draft_keeps_the_index_it_first_read_when_the_catalog_is_indexed_again(study, liked):
    from recommender import services as recommender_services
    from study.services import study_recommender_index

    first = study_recommender_index(study, "features")
    assert study.pinned_indexes == {"features": first.pk}
    newer = recommender_services.index_build(catalog=study.catalog, feature_set="audio")
    assert newer.pk == first.pk  # nothing changed: the same version
    # A new version (the catalog analysed again with another feature set, say) does not reach the running study.
    from recommender.models import SimilarityIndex

    later = SimilarityIndex.objects.create(
        catalog=study.catalog, feature_set="audio", version=first.version + 1, source_sha256="later",
        feature_names=first.feature_names, track_ids=first.track_ids, mean=first.mean, std=first.std,
        vectors=first.vectors,
    )
    assert recommender_services.recommender_index(study.catalog, "features").pk == later.pk
    study.refresh_from_db()
    assert study_recommender_index(study, "features").pk == first.pk
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    browser.get_recommendations(*liked)
    assert {r.index_id for r in browser.participant.recommendations.all()} == {first.pk}


def test_the_catalog_of_a_study_that_left_draft_is_neither_analysed_nor_fetched_again(study):
    from recommender import services as recommender_services
    from recommender.models import Track

    Track.objects.filter(pk=study.catalog.tracks.first().pk).update(status=Track.Status.PENDING)
    with pytest.raises(recommender_services.CatalogLocked, match="which has left draft"):
        recommender_services.catalog_analyse(catalog=study.catalog)
    study.catalog.tracks.filter(pk=study.catalog.tracks.last().pk).update(audio="", preview_url="https://example.org/a.mp3")
    with pytest.raises(recommender_services.CatalogLocked, match="its clips cannot change"):
        recommender_services.catalog_fetch_clips(catalog=study.catalog)


def test_once_participants_have_entered_the_questions_and_conditions_are_frozen(running):
    assert running.is_frozen
    item = _item(running)
    item.scale_max = 2
    with pytest.raises(ValidationError, match="Frozen: participants may have seen"):
        item.full_clean()
    with pytest.raises(ValidationError, match="no item can be added"):
        Item(study=running, code="new", section="questionnaire", text="New?").full_clean()
    condition = running.conditions.first()
    condition.recommender = Condition.Recommender.TAGGER
    with pytest.raises(ValidationError, match="Frozen"):
        condition.full_clean()
    condition.refresh_from_db()
    condition.is_active = False  # a condition may stop taking new participants
    condition.full_clean()


def test_a_running_study_s_design_and_state_are_frozen_and_its_texts_change_only_as_a_new_version(running):
    running.n_recommendations = 2
    with pytest.raises(ValidationError, match="Frozen"):
        running.full_clean()
    running.refresh_from_db()
    # The understanding tests are part of the journey: no test added, removed or made easier under participants.
    for field, value in (("simulation_trials", 4), ("simulation_pretest", False), ("simulation_bands", [[0.5, 2.0]])):
        setattr(running, field, value)
        with pytest.raises(ValidationError, match="Frozen"):
            running.full_clean()
        running.refresh_from_db()
    running.state = "draft"
    with pytest.raises(ValidationError, match="discard its test data first"):
        running.full_clean()
    running.refresh_from_db()
    running.state = "closed"
    running.full_clean()
    running.refresh_from_db()
    running.consent_text = "You agree, and more."
    with pytest.raises(ValidationError, match="new consent version"):
        running.full_clean()
    running.consent_version = "2"
    running.full_clean()


def test_the_export_shows_the_consent_version_each_participant_consented_under(running, liked):
    running.consent_text, running.consent_version = "New wording.", "2"
    running.full_clean()
    running.save()
    later = ParticipantBrowser(running)
    later.get()
    later.consent()
    versions = sorted(row["consent_version"] for row in wide_table(running, Options()).rows)
    assert versions == ["1", "2"]
    from research.export import long_rows

    later.get_recommendations(*liked)
    later.post("rate", later.rating_answers())
    by_participant = {row["participant"]: row["consent_version"] for row in long_rows(running, Options())}
    assert sorted(by_participant.values()) == ["1", "2"]  # the long export (and the API's /responses/) too


def test_the_admin_shows_a_frozen_study_read_only_and_logs_every_change(running, admin_client):
    page = admin_client.get(reverse("admin:study_study_change", args=[running.pk])).content.decode()
    assert 'name="items-0-text"' not in page and 'name="items-__prefix__-text"' not in page  # no new item either
    assert 'name="conditions-0-is_active"' in page and 'name="conditions-0-recommender"' not in page
    assert 'name="n_recommendations"' not in page
    # A text change with a new version goes through, and the log keeps old and new.
    data = _form_data(admin_client, running)
    data.update({"debrief_text": "Thank you!", "consent_version": "2"})
    answer = admin_client.post(reverse("admin:study_study_change", args=[running.pk]), data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    entry = AuditEntry.objects.get(action="change_study", detail__what="study")
    assert entry.actor == "admin:admin" and entry.detail["changes"]["consent_version"] == ["1", "2"]
    assert entry.detail["changes"]["debrief_text"][1] == "Thank you!"
    # The same text change without a new version is refused, and nothing is logged.
    data.update({"debrief_text": "Thanks again!"})
    refused = admin_client.post(reverse("admin:study_study_change", args=[running.pk]), data)
    assert refused.status_code == 200 and "new consent version" in refused.content.decode()
    assert AuditEntry.objects.filter(action="change_study").count() == 1


def _form_data(client, study) -> dict:
    """What the study's change form would post as it stands (every input's current value)."""
    import re
    from html import unescape

    page = client.get(reverse("admin:study_study_change", args=[study.pk])).content.decode()
    data = {}
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>(?:[^<]*</textarea>)?", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name[1] in ("_save", "_continue", "_addanother") or "__prefix__" in name[1]:
            continue
        if tag.startswith("<textarea"):
            data[name[1]] = unescape(re.search(r">([^<]*)</textarea>", tag)[1]).lstrip("\n")
        elif tag.startswith("<select"):
            continue  # filled below from the selected option
        elif 'type="checkbox"' in tag:
            if "checked" in tag:
                data[name[1]] = "on"
        else:
            value = re.search(r'value="([^"]*)"', tag)
            data[name[1]] = unescape(value[1]) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        if "__prefix__" in name:
            continue
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data[name] = chosen[1] if chosen else ""
    return data


def test_a_running_study_s_texts_in_another_language_change_only_with_a_new_version(running, admin_client):
    from study.models import StudyTranslation

    StudyTranslation.objects.create(study=running, language="de", title="Pilotstudie", consent_text="Sie stimmen zu.")
    url = reverse("admin:study_study_change", args=[running.pk])
    data = _form_data(admin_client, running)
    data["translations-0-consent_text"] = "Sie stimmen zu, und mehr."
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and "Texts in another language" in refused.content.decode()
    assert StudyTranslation.objects.get(study=running).consent_text == "Sie stimmen zu."
    data["consent_version"] = "2"
    assert admin_client.post(url, data).status_code == 302
    assert StudyTranslation.objects.get(study=running).consent_text == "Sie stimmen zu, und mehr."
    logged = AuditEntry.objects.get(action="change_study", detail__what__startswith="studytranslation")
    assert logged.detail["changes"]["consent_text"] == ["Sie stimmen zu.", "Sie stimmen zu, und mehr."]


def test_the_catalog_of_a_running_study_takes_no_new_tracks(running, tmp_path):
    from recommender.catalog_import import ImportRefused, catalog_import_file

    path = tmp_path / "more.csv"
    path.write_text("id,title,artist\nnew-1,New,Ann\n", encoding="utf-8")
    before = running.catalog.tracks.count()
    with pytest.raises(ImportRefused, match="which has left draft"):
        catalog_import_file(csv_path=path, format="generic", catalog=running.catalog, analyse=False)
    with pytest.raises(ImportRefused, match="tracks cannot change under its participants"):
        catalog_import_file(csv_path=path, format="generic", slug=running.catalog.slug, analyse=False)
    assert running.catalog.tracks.count() == before
    fresh = catalog_import_file(csv_path=path, format="generic", slug="another", analyse=False)
    assert fresh.created and fresh.catalog.tracks.count() == 1


def test_the_admin_refuses_an_impossible_scale_on_a_draft_and_keeps_the_item(study, admin_client):
    study.state = "draft"
    study.save()
    data = _form_data(admin_client, study)
    index = next(k.split("-")[1] for k, v in data.items() if k.startswith("items-") and k.endswith("-code")
                 and v == _item(study).code)
    data[f"items-{index}-scale_min"], data[f"items-{index}-scale_max"] = "9", "1"
    answer = admin_client.post(reverse("admin:study_study_change", args=[study.pk]), data)
    assert answer.status_code == 200 and "rating scale runs from its minimum" in answer.content.decode()
    item = _item(study)
    assert item.scale_min < item.scale_max


def test_an_open_study_nobody_entered_changes_its_consent_text_only_with_a_new_version(study, admin_client):
    assert study.state == "open" and not study.participants.exists()
    url = reverse("admin:study_study_change", args=[study.pk])
    data = _form_data(admin_client, study)
    data["consent_text"] = "You agree to something else."
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and "new consent version" in refused.content.decode()
    study.refresh_from_db()
    assert study.consent_text == "You agree to take part." and study.consent_version == "1"
    data["consent_version"] = "2"
    assert admin_client.post(url, data).status_code == 302
    study.refresh_from_db()
    assert (study.consent_text, study.consent_version) == ("You agree to something else.", "2")
