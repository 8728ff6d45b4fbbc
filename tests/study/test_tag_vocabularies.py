"""A study chooses the tagger it listens with: MagnaTagATune (instruments, voices), the Million Song Dataset
(genres, moods, decades) or both side by side. The tagger recommender ranks by that tagger's index, the tags
explanation speaks its words in every language, and the researcher sees each vocabulary on the catalog first."""
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from explanations import tags
from recommender import networks, services
from recommender.cnn import tagger
from recommender.models import AudioModel, SimilarityIndex, TrackEmbedding
from research import services as research_services
from research.gallery import study_tag_vocabularies
from research.services.configuration import study_from_config, study_to_config
from study.models import Study
from tests.factories import make_study
from tests.participants import ParticipantBrowser

pytestmark = pytest.mark.django_db(transaction=True)

FeatureSet = SimilarityIndex.FeatureSet


@pytest.fixture
def vocabularies(demo_catalog):
    """The demo catalog embedded by both taggers and by both side by side, each with its index."""
    for feature_set in (FeatureSet.TAGGER, FeatureSet.TAGGER_MSD, FeatureSet.TAGGER_BOTH):
        networks.catalog_embed(catalog=demo_catalog, feature_set=feature_set)
    return demo_catalog


def _tags_study(catalog, vocabulary):
    return make_study(catalog, conditions=[("tagger-tags", "tags", 1, "tagger")], tag_vocabulary=vocabulary,
                      slug=f"tags-{vocabulary}")


def _participant_recommendations(study, language="en"):
    browser = ParticipantBrowser(study)
    browser.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    browser.get()
    browser.consent()
    browser.get_recommendations(study.catalog.tracks.order_by("pk").first())
    return list(browser.participant.recommendations.select_related("index", "tags_explanation"))


def test_both_taggers_side_by_side_join_each_tagger_s_own_embedding_and_tags(vocabularies, monkeypatch):
    track = vocabularies.tracks.order_by("pk").first()
    mtt, msd, both = (TrackEmbedding.objects.get(track=track, model=networks.tagger_model(v)) for v in ("mtt", "msd", "both"))
    assert both.array().shape == (400,) and len(both.tags) == 100
    assert np.array_equal(both.array(), np.concatenate([mtt.array(), msd.array()]))
    assert both.tags == mtt.tags + msd.tags
    # The joined row is named apart from either tagger, and reads back as "both".
    rows = {v: networks.tagger_model(v) for v in tagger.VOCABULARIES}
    assert len({row.sha256 for row in rows.values()}) == 3
    assert {networks.tagger_vocabulary(row) for row in rows.values()} == set(tagger.VOCABULARIES)
    # The same network side by side gives what the two taggers give on their own.
    patches = np.random.default_rng(0).normal(size=(2, 187, 96)).astype(np.float32)
    pair_p, pair_e = tagger.tag_patches(patches, model=tagger.default_tagger("both"))
    (p1, e1), (p2, e2) = (tagger.tag_patches(patches, model=tagger.default_tagger(v)) for v in ("mtt", "msd"))
    assert np.allclose(pair_p, np.hstack([p1, p2]), atol=1e-6) and np.allclose(pair_e, np.hstack([e1, e2]), atol=1e-5)
    assert tagger.default_tagger("both").tag_names == tagger.default_tagger("mtt").tag_names + tagger.default_tagger("msd").tag_names


def test_each_vocabulary_has_its_own_index_built_from_its_own_tagger(vocabularies):
    indexes = {fs: services.catalog_latest_index(vocabularies, fs) for fs in SimilarityIndex.TAGGERS.values()}
    for vocabulary, feature_set in SimilarityIndex.TAGGERS.items():
        assert indexes[feature_set].model == networks.tagger_model(vocabulary)
    assert [indexes[fs].matrix().shape[1] for fs in SimilarityIndex.TAGGERS.values()] == [200, 200, 400]
    for vocabulary, feature_set in SimilarityIndex.TAGGERS.items():
        assert services.recommender_index(vocabularies, "tagger", vocabulary=vocabulary) == indexes[feature_set]
    assert services.recommender_index(vocabularies, "tagger") == indexes[FeatureSet.TAGGER]  # the default stays MTT


def test_embed_catalog_builds_the_index_of_the_vocabulary_asked_for(demo_catalog):
    out = io.StringIO()
    call_command("embed_catalog", demo_catalog.slug, "--vocabulary", "msd", stdout=out)
    assert "tagger_msd" in out.getvalue()
    assert services.catalog_latest_index(demo_catalog, FeatureSet.TAGGER_MSD).model == networks.tagger_model("msd")
    assert services.catalog_latest_index(demo_catalog, FeatureSet.TAGGER) is None


def test_the_tagger_recommends_from_the_study_s_vocabulary_and_its_tags_speak_it(vocabularies):
    msd_names = set(tagger.default_tagger("msd").tag_names)
    mtt_only = set(tagger.default_tagger("mtt").tag_names) - msd_names
    for vocabulary, feature_set in SimilarityIndex.TAGGERS.items():
        recommendations = _participant_recommendations(_tags_study(vocabularies, vocabulary))
        assert {r.index.feature_set for r in recommendations} == {feature_set}
        for recommendation in recommendations:
            data = recommendation.tags_explanation.data
            assert data["feature_set"] == feature_set
            names = {row["tag"] for row in data["rows"]}
            if vocabulary == "msd":
                assert names <= msd_names
            if vocabulary == "mtt":
                assert not names & (msd_names - set(tagger.default_tagger("mtt").tag_names))
            assert len(names) == len(data["rows"])  # a tag both taggers know is charted once
    assert mtt_only  # the vocabularies do differ


def test_every_tag_of_either_vocabulary_reads_in_german():
    catalog = translation.trans_real.translation("de")
    for vocabulary in ("mtt", "msd"):
        for name in tagger.default_tagger(vocabulary).tag_names:
            msgid = tags.TAG_LABELS[name]
            assert catalog.gettext(msgid) != msgid or msgid in {"sexy", "R&B", "instrumental"}, name


def test_a_study_without_its_vocabulary_s_index_is_warned_with_the_command_that_builds_it(networked_catalog):
    study = _tags_study(networked_catalog, "msd")
    warnings = research_services.study_warnings(study)
    assert any("no tagger (msd) index" in w and f"embed_catalog {networked_catalog.slug} --vocabulary msd" in w
               for w in warnings)
    both = _tags_study(networked_catalog, "both")
    both.conditions.create(slug="tagger-spectrogram", name="Spectrogram", explanation="spectrogram", recommender="tagger")
    cost = next(w for w in research_services.study_warnings(both) if "occlusion" in w)
    assert "about 8.4 s per pair" in cost  # two taggers: two passes per covered passage


def test_the_gallery_shows_each_vocabulary_on_the_catalog_and_marks_the_study_s(networked_catalog, admin_client):
    study = _tags_study(networked_catalog, "msd")
    found = {v.code: v for v in study_tag_vocabularies(study=study)}
    assert list(found) == ["mtt", "msd", "both"] and [v.chosen for v in found.values()] == [False, True, False]
    assert 0 < len(found["mtt"].usage) <= 10 and found["msd"].usage == [] == found["both"].usage
    assert found["msd"].embed_command == f"python manage.py embed_catalog {networked_catalog.slug} --vocabulary msd"
    page = admin_client.get(reverse("admin:study_study_gallery", args=[study.pk]), {"n": 1}).content.decode()
    assert "(chosen)" in page and found["msd"].embed_command in page and found["mtt"].usage[0].tag in page


def test_the_vocabulary_travels_with_the_study_s_configuration(demo_catalog):
    study = make_study(demo_catalog, tag_vocabulary=Study.TagVocabulary.BOTH)
    assert study_to_config(study)["study"]["tag_vocabulary"] == "both"
    copy = study_from_config(study_to_config(study), slug="copy")
    assert copy.tag_vocabulary == "both"
    old = study_to_config(study)
    del old["study"]["tag_vocabulary"]  # a configuration written before studies chose
    assert study_from_config(old, slug="older").tag_vocabulary == "mtt"


def test_a_tagger_row_that_is_no_shipped_tagger_is_refused(db):
    stranger = AudioModel.objects.create(kind=AudioModel.Kind.TAGGER, sha256="0" * 64)
    with pytest.raises(ValueError, match="not one of the shipped taggers"):
        networks.tagger_vocabulary(stranger)
    with pytest.raises(ValueError, match="hold no network"):
        networks.feature_set_model(None, FeatureSet.AUDIO)


def test_occlusion_through_both_taggers_explains_the_joined_similarity(vocabularies):
    study = make_study(vocabularies, conditions=[("tagger-spectrogram", "spectrogram", 1, "tagger")],
                       tag_vocabulary="both", slug="occluded-both")
    recommendations = _participant_recommendations(study)
    for recommendation in recommendations[:2]:
        data = recommendation.spectrogram_explanation.data
        assert data["feature_set"] == FeatureSet.TAGGER_BOTH and data["method"].startswith("occlusion")
        # Occlusion recomputes the score the joined index ranked by, before covering anything.
        assert data["occlusion_score"] == pytest.approx(recommendation.score, abs=1e-4)
