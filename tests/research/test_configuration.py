"""A study configured in the admin without code: its catalog pool, item order, power analysis, and the JSON
file that recreates it exactly elsewhere."""
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from research import services as research_services
from research.export_files import configuration_sha256, study_export
from study import services
from study.models import Participant, Study
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_pool_limits_what_participants_find_like_and_are_recommended(study, demo_catalog):
    styles = sorted(set(demo_catalog.tracks.values_list("style", flat=True)))
    study.pool_styles = styles[:3]
    study.save()
    pool = set(demo_catalog.tracks.filter(style__in=styles[:3]).values_list("pk", flat=True))
    found = services.catalog_search(study=study, query="", page_size=50)
    assert {t.pk for t in found.tracks} == pool and found.total == len(pool)
    browser = ParticipantBrowser(study)
    browser.get()
    browser.consent()
    outside = demo_catalog.tracks.exclude(pk__in=pool).first()
    refused = browser.client.post(f"/s/{study.slug}/choose/", {"action": "like", "track": outside.pk},
                                  HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and refused.json()["liked"] == []
    browser.get_recommendations(demo_catalog.tracks.filter(pk__in=pool).first())
    recommended = set(browser.participant.recommendations.values_list("track_id", flat=True))
    assert recommended and recommended <= pool
    # A list of catalog ids narrows it further.
    study.pool_track_ids = list(demo_catalog.tracks.filter(pk__in=pool).order_by("pk").values_list("external_id", flat=True)[:4])
    study.save()
    assert services.catalog_search(study=study, query="").total == 4


def test_randomised_item_order_is_drawn_once_per_participant_kept_and_exported(study, liked, tmp_path):
    study.item_order = "randomised"
    study.save()
    orders = []
    for _ in range(4):
        browser = ParticipantBrowser(study)
        browser.get()
        browser.consent_only()
        browser.post("instructions", {})
        page = browser.get("about-you").content.decode()
        again = browser.get("about-you").content.decode()
        shown = [line.split('data-field="')[1].split('"')[0] for line in page.split("<fieldset")[1:]]
        assert shown == [line.split('data-field="')[1].split('"')[0] for line in again.split("<fieldset")[1:]]
        assert browser.participant.item_order["pre"] == shown
        orders.append(tuple(shown))
        browser.post("about-you", browser.pre_answers())
    assert len(set(orders)) > 1  # 4 participants, 4 items: the same order four times is a 1-in-13,824 chance
    long = study_export(study=study, format="long", options=services_options(), exported_by="t").content.decode()
    rows = [dict(zip(long.splitlines()[0].split(","), line.split(","))) for line in long.splitlines()[1:]]
    for participant in Participant.objects.filter(study=study):
        order = participant.item_order["pre"]
        mine = [r for r in rows if r["participant"] == str(participant.pk)]
        assert {r["item"]: int(r["item_position"]) for r in mine} == {code: order.index(code) + 1 for code in order}


def services_options():
    from research.export import Options

    return Options(pseudonymous=False)


def test_the_power_analysis_gives_the_textbook_sample_size(study):
    """d = 0.5, alpha .05, power .8, two groups: 64 per group (Cohen 1988, table 2.4.1)."""
    study.conditions.exclude(slug__in=["features", "spectrogram"]).update(is_active=False)
    size = research_services.study_sample_size(study=study)
    assert size["per_condition"] == 64 and size["comparisons"] == 1
    study.conditions.update(is_active=True)
    four = research_services.study_sample_size(study=study)
    assert four["comparisons"] == 6 and four["alpha_per_comparison"] == pytest.approx(0.05 / 6)
    assert four["per_condition"] > 64


def test_a_study_exported_as_json_is_recreated_exactly_elsewhere(study, tmp_path):
    study.pool_styles = ["Rock"]
    study.item_order = "randomised"
    study.save()
    before = configuration_sha256(study)
    out = tmp_path / "study.json"
    call_command("export_study", study.slug, "--out", str(out), stdout=io.StringIO())
    config = json.loads(out.read_text())
    assert config["format"] == "resonance-study" and len(config["conditions"]) == 4
    study.delete()  # as on a fresh installation with the same catalog
    out_text = io.StringIO()
    call_command("import_study", str(out), stdout=out_text)
    copy = Study.objects.get(slug="pilot")
    assert copy.state == "draft" and "4 conditions" in out_text.getvalue()
    assert configuration_sha256(copy) == before
    with pytest.raises(CommandError, match="exists already"):
        call_command("import_study", str(out))


def test_a_duplicate_is_a_new_draft_with_the_same_design_and_its_own_seed(study, admin_client):
    admin_client.post("/admin/study/study/", {"action": "duplicate_studies", "_selected_action": [study.pk]})
    copy = Study.objects.get(slug="pilot-copy")
    assert copy.state == "draft" and copy.randomisation_seed != study.randomisation_seed
    assert list(copy.conditions.values_list("slug", "explanation", "recommender")) == list(
        study.conditions.values_list("slug", "explanation", "recommender"))
    assert copy.items.count() == study.items.count() and copy.participants.count() == 0
    download = admin_client.post("/admin/study/study/", {"action": "download_configuration", "_selected_action": [study.pk]})
    assert json.loads(download.content)["study"]["slug"] == "pilot"


def test_a_configuration_with_a_dishonest_condition_or_another_format_is_refused(study, tmp_path):
    config = research_services.study_to_config(study)
    config["conditions"][0]["recommender"], config["conditions"][0]["explanation"] = "cnn", "features"
    with pytest.raises(services.FlowError, match="cannot give a truthful"):
        research_services.study_from_config(config, slug="other")
    with pytest.raises(services.FlowError, match="Not a Resonance study configuration"):
        research_services.study_from_config({"format": "x"}, slug="other")
    assert not Study.objects.filter(slug="other").exists()


def test_the_admin_study_page_shows_the_power_analysis(study, admin_client):
    page = admin_client.get(f"/admin/study/study/{study.pk}/change/").content.decode()
    assert "participants per condition" in page and "statsmodels" in page


def test_a_study_added_in_the_admin_starts_as_a_draft_with_the_questions_it_chose_and_says_what_is_missing(
        demo_catalog, admin_client):
    form = admin_client.get("/admin/study/study/add/").content.decode()
    assert 'value="draft" selected' in form and 'name="scales"' in form
    assert 'name="tag_vocabulary"' in form and "Million Song Dataset: genres" in form
    data = {
        "title": "Admin study", "slug": "admin-study", "catalog": demo_catalog.pk, "state": "draft",
        "open_to_anyone": "on", "consent_text": "Yes.", "consent_version": "1", "randomisation": "least_filled",
        "balance_on": "started", "block_repeats": 2, "target_per_condition": 0, "effect_size_d": 0.5, "alpha": 0.05,
        "power": 0.8, "pool_styles": "[]", "pool_track_ids": "[]", "min_liked": 1, "max_liked": 3,
        "n_recommendations": 5, "tag_vocabulary": "msd", "pid_pattern": "[0-9a-f]{24}", "item_order": "fixed", "required_listening_s": 0,
        "min_duration_s": 180, "scales": ["jian_trust"], "simulation_trials": 6, "simulation_pretest": "on",
        "simulation_bands": "[[0.3, 2.0], [0.15, 0.3], [0.05, 0.15]]", "simulation_base_accuracy": 0.6,
        "simulation_difference": 0.15, "exclusion_rules": "[\"attention\", \"too_fast\"]",
        "translations-TOTAL_FORMS": 0, "translations-INITIAL_FORMS": 0,
        "members-TOTAL_FORMS": 0, "members-INITIAL_FORMS": 0,
        "conditions-TOTAL_FORMS": 2, "conditions-INITIAL_FORMS": 0,
        "conditions-0-slug": "cnn", "conditions-0-name": "CNN", "conditions-0-explanation": "spectrogram",
        "conditions-0-recommender": "cnn", "conditions-0-weight": 1, "conditions-0-is_active": "on",
        "conditions-1-slug": "features", "conditions-1-name": "Features", "conditions-1-explanation": "features",
        "conditions-1-recommender": "features", "conditions-1-weight": 1, "conditions-1-is_active": "on",
        "items-TOTAL_FORMS": 0, "items-INITIAL_FORMS": 0, "preregistration-TOTAL_FORMS": 0, "preregistration-INITIAL_FORMS": 0,
    }
    page = admin_client.post("/admin/study/study/add/", data, follow=True)
    study = Study.objects.get(slug="admin-study")
    assert study.state == "draft" and study.tag_vocabulary == "msd"
    assert list(study.members.values_list("user__username", "role")) == [("admin", "owner")]  # who made it owns it
    assert study.items.filter(bank_scale="jian_trust").count() == 12
    assert study.items.filter(section="rating").count() == 3 and study.items.filter(check_kind="attention").exists()
    html = page.content.decode()
    assert "no cnn index yet" in html and "No Deutsch texts" in html
    bad = admin_client.post("/admin/study/study/add/", {**data, "slug": "bad", "conditions-0-explanation": "features"})
    assert "cannot give a truthful" in bad.content.decode() and not Study.objects.filter(slug="bad").exists()


def test_the_launch_checklist_states_what_an_explanation_costly_by_nature_takes_for_this_catalog(demo_catalog):
    """Occlusion of the tagger takes seconds per pair where every other explanation takes milliseconds: the
    researcher reads its cost for this catalog before opening the study, and nothing for the cheap ones."""
    from explanations.network_services import OCCLUSION_SECONDS_PER_PAIR
    from tests.factories import make_study

    cheap = make_study(demo_catalog, slug="cheap", conditions=[("chart", "features"), ("tagged", "tags", 1, "tagger")])
    assert not any("occlusion" in w for w in research_services.study_warnings(cheap))
    costly = make_study(demo_catalog, slug="costly", conditions=[("occluded", "spectrogram", 1, "tagger")])
    (warning,) = [w for w in research_services.study_warnings(costly) if "occlusion" in w]
    pairs = 12 * (costly.n_recommendations + costly.max_liked)
    assert warning.startswith("Occluded: ") and f"this catalog's {pairs} pairs" in warning
    assert f"about {pairs * OCCLUSION_SECONDS_PER_PAIR / 60:.0f} min" in warning
    costly.conditions.update(is_active=False)
    assert not any("occlusion" in w for w in research_services.study_warnings(costly))


def test_an_import_is_checked_as_the_admin_checks_all_or_nothing_with_every_problem_named(study):
    """Issue 19's findings: invalid section and kind, min > max, a code the answer endpoint refuses, an over-long
    consent version, a catastrophic id pattern, unknown fields: all named at once, and nothing written."""
    config = research_services.study_to_config(study)
    config["study"].update(consent_version="v" * 45, pid_pattern="(a)\\1")
    config["study"]["surprise"] = 1
    first, second = config["items"][0], config["items"][1]
    first.update(section="nowhere", kind="slider")
    second.update(code="has spaces!", scale_min=9, scale_max=1, kind="likert")
    config["items"].append(dict(config["items"][2]))  # the same code twice
    with pytest.raises(services.FlowError) as refused:
        research_services.study_from_config(config, slug="imported")
    text = str(refused.value)
    assert "nothing was written" in text and "study: unknown field 'surprise'" in text
    del config["study"]["surprise"]
    with pytest.raises(services.FlowError) as refused:
        research_services.study_from_config(config, slug="imported")
    text = str(refused.value)
    assert "study.consent_version:" in text and "study.pid_pattern: Not a pattern participant ids" in text
    assert f"items[0] ({first['code']!r}).section:" in text and f"items[0] ({first['code']!r}).kind:" in text
    assert "items[1] ('has spaces!').code:" in text and "items[1] ('has spaces!').scale_max: A rating scale" in text
    assert f"a second item {config['items'][2]['code']!r}" in text
    assert not Study.objects.filter(slug="imported").exists()


def test_a_participant_id_pattern_runs_in_linear_time_whatever_the_researcher_wrote(study):
    import time

    from study.pid_patterns import pid_matches

    study.state = "draft"
    study.save()
    study.pid_pattern = "(a+)+$"  # catastrophic backtracking for Python's re: 0.94 s at 22 characters, doubling
    study.full_clean()  # RE2 runs it: allowed
    start = time.perf_counter()
    assert not pid_matches(study.pid_pattern, "a" * 5000 + "!")
    assert time.perf_counter() - start < 2  # RE2: linear (ms); Python's re would not finish in a lifetime
    assert pid_matches(r"[0-9a-f]{24}", "5f3a9c0d1b2e4f6a7c8d9e0a") and not pid_matches(r"[0-9a-f]{24}", "5f3a9c0d1b2e4f6a7c8d9e0")
    study.pid_pattern = "(?=a)a"
    with pytest.raises(ValidationError, match="without back-references or look-arounds"):
        study.full_clean()


def test_import_study_names_the_line_of_every_problem_in_the_file(study, tmp_path):
    config = research_services.study_to_config(study)
    config["study"]["consent_version"] = "v" * 45
    config["items"][1].update(code="has spaces!", scale_min=9, scale_max=1, kind="likert", options=[])
    text = json.dumps(config, indent=2, ensure_ascii=False, default=str)
    path = tmp_path / "study.json"
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")

    def line_of(fragment, after=0):
        return next(n for n, line in enumerate(lines, start=1) if n > after and fragment in line)

    with pytest.raises(CommandError) as refused:
        call_command("import_study", str(path), "--slug", "imported")
    report = str(refused.value)
    version, item = line_of('"consent_version"'), line_of('"code": "has spaces!"')
    scale_max = line_of('"scale_max": 1', after=item)
    assert f"line {version}: study.consent_version:" in report
    assert f"line {scale_max}: items[1] ('has spaces!').scale_max: A rating scale" in report
    assert f"line {item}: items[1] ('has spaces!').code:" in report
    assert not Study.objects.filter(slug="imported").exists()
    assert research_services.config_lines("[not an object") == {}


def test_the_launch_checklist_warns_of_unrendered_explanations_and_bunched_scores_each_with_its_fix(
        networked_catalog, admin_client, monkeypatch):
    from research.services import setup, study_prerender_explanations, study_warnings

    study = make_study(networked_catalog, slug="launch", n_recommendations=1, max_liked=1, conditions=[
        ("features", "features"), ("cnn", "spectrogram", 1, "cnn"), ("tags", "tags", 1, "tagger")])
    warnings = study_warnings(study)
    (unrendered,) = [w for w in warnings if "not prerendered" in w]
    assert f"prepare_catalog {networked_catalog.slug} --study {study.slug}" in unrendered
    assert unrendered.fix == ("admin:study_study_prepare", "the catalog's preparation")
    assert not any("similarities bunch" in w for w in warnings)  # centred, even the tests' CNN spreads its scores
    monkeypatch.setattr(setup, "BUNCHED_IQR", 2.0)  # every recommender now counts as bunched
    bunched = next(w for w in study_warnings(study) if "similarities bunch" in w and "cnn" in w)
    assert bunched.startswith("The cnn recommender") and "train_cnn" in bunched and bunched.fix[0] == "admin:study_study_gallery"
    page = admin_client.get(f"/admin/study/study/{study.pk}/change/").content.decode()
    assert f'<a href="/admin/study/study/{study.pk}/gallery/">Go to the gallery</a>' in page
    assert f'<a href="/admin/study/study/{study.pk}/prepare/">Go to the catalog&#x27;s preparation</a>' in page
    monkeypatch.setattr(setup, "BUNCHED_IQR", 0.1)
    study_prerender_explanations(study=study)
    assert not any("not prerendered" in w for w in study_warnings(study))
