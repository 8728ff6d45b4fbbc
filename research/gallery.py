"""The researchers' gallery: every active condition's explanation of sample pairs, in every language, with its numbers.

Read-only apart from rendering explanations that do not exist yet (cached by content hash
like every other explanation), so opening it twice costs nothing the second time.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from explanations import tags
from explanations.models import Explanation
from explanations.services import explanation_get_or_render
from recommender import networks
from recommender import services as recommender_services
from recommender.models import Track
from research.services import study_index
from study.models import Condition, Study
from study.services import study_recommender_index


def explanation_numbers(explanation: Explanation) -> dict:
    """What a researcher checks a figure against: the score, and each bar's share or each outline's score."""
    data = explanation.data
    numbers = {"kind": explanation.kind, "score": data.get("score")}
    if explanation.kind == Explanation.Kind.FEATURES:
        numbers["bars"] = [
            {"label": bar["label"], "share": bar["share"], "verdict": bar["verdict"], "values": bar["values"]}
            for bar in data.get("bars", [])
        ]
        numbers["harmony_correlation"] = data.get("harmony_correlation")
    elif explanation.kind == Explanation.Kind.TAGS:
        numbers["tags"] = data.get("rows", [])
        numbers["threshold"] = data.get("shared_min_probability")
    elif "method" in data:  # a network's regions: exact pairs (CNN) or occlusion (tagger)
        numbers.update(
            method=data["method"], threshold=data.get("threshold"), regions=data.get("regions", []),
            pair_sum=data.get("pair_sum"), segments=None,
        )
    else:
        matrix = data.get("segment_similarity")
        numbers.update(
            threshold=data.get("threshold"),
            regions=data.get("regions", []),
            segments=f"{len(matrix)} × {len(matrix[0]) if matrix else 0}" if matrix is not None else None,
            best_segment_pair=max((v for row in matrix for v in row), default=None) if matrix else None,
        )
    return numbers


def _sample_seeds(study: Study, loaded, n_pairs: int) -> list[Track]:
    """n_pairs liked tracks in the index, one per style first (by pk), then the lowest pks."""

    def first_indexed(tracks) -> list[int]:
        # A few candidates are enough: nearly every track of an analysed catalog is in its index.
        return [pk for pk in tracks.values_list("pk", flat=True)[: 4 * n_pairs] if loaded.rows_of([pk]).size]

    tracks = study.catalog.tracks.order_by("pk")
    seed_ids: list[int] = []
    for style in tracks.order_by("style").values_list("style", flat=True).distinct()[:n_pairs]:
        seed_ids += first_indexed(tracks.filter(style=style))[:1]
    seed_ids += [pk for pk in first_indexed(tracks) if pk not in seed_ids][: n_pairs - len(seed_ids)]
    by_pk = Track.objects.select_related("analysis").in_bulk(seed_ids)
    return [by_pk[pk] for pk in seed_ids]


@dataclass(frozen=True)
class Vocabulary:
    code: str  # Study.TagVocabulary
    name: str
    chosen: bool  # the study's tagger listens with this one
    usage: list[tags.TagUsage]  # empty: the catalog has no index of this vocabulary yet
    embed_command: str  # what builds its index, to compare before choosing


def study_tag_vocabularies(*, study: Study, count: int = 10) -> list[Vocabulary]:
    """For each tag vocabulary a study may choose, the tags its tagger uses most on the study's catalog: a
    researcher sees a vocabulary that does not fit the music (MagnaTagATune's "sitar" for chiptune) before launch,
    and which one fits better. A vocabulary without an index on this catalog lists nothing and says how to build it."""
    found = []
    for code, name in Study.TagVocabulary.choices:
        index = recommender_services.recommender_index(study.catalog, Condition.Recommender.TAGGER, vocabulary=code)
        usage = []
        if index is not None:
            names = networks.load_network(index.model_id).tag_names
            usage = tags.vocabulary_usage(names, networks.index_tag_probabilities(index), count=count)
        found.append(Vocabulary(
            code, name, code == study.tag_vocabulary, usage,
            f"python manage.py embed_catalog {study.catalog.slug} --vocabulary {code}",
        ))
    return found


def study_gallery(*, study: Study, n_pairs: int, languages: list[str] | None = None) -> list[dict]:
    """Sample (liked, recommended) pairs with every active condition's explanations in every language.

    Each row: ``seed``, ``track``, ``score`` and ``cells``, one per active condition, each
    ``{"condition", "languages": [{"code", "name", "explanations": [{"explanation", "numbers"}]}]}``;
    a condition without explanations (the control) has empty lists. ``languages`` defaults to
    settings.LANGUAGES. Explanations missing so far are rendered now.
    """
    names = dict(settings.LANGUAGES)
    languages = list(languages or names)
    # A condition whose recommender has no index yet is left out (the study page warns of it); the others show.
    indexes = {
        recommender: study_recommender_index(study, recommender)
        for recommender in set(study.conditions.filter(is_active=True).values_list("recommender", flat=True))
    }
    conditions = [c for c in study.conditions.filter(is_active=True) if indexes.get(c.recommender) is not None]
    index = indexes.get(Condition.Recommender.FEATURES) or study_index(study)
    loaded = recommender_services.load_index(index.pk)
    rows = []
    for seed in _sample_seeds(study, loaded, n_pairs):
        best = recommender_services.recommend(index=index, liked_track_ids=[seed.pk], k=1)[0]
        track = Track.objects.select_related("analysis").get(pk=best.track_id)
        cells = []
        for condition in conditions:
            # A condition with another recommender (a crossed design) explains its own top track.
            own_index, own_track, own_score = indexes[condition.recommender], track, best.score
            if own_index.pk != index.pk:
                own = recommender_services.recommend(index=own_index, liked_track_ids=[seed.pk], k=1)[0]
                own_track = Track.objects.select_related("analysis").get(pk=own.track_id)
                own_score = own.score
            per_language = []
            for code in languages:
                explanations = [
                    explanation_get_or_render(kind=kind, seed_track=seed, track=own_track, index=own_index, language=code)
                    for kind in condition.explanation_kinds
                ]
                per_language.append({
                    "code": code,
                    "name": names.get(code, code),
                    "explanations": [{"explanation": e, "numbers": explanation_numbers(e)} for e in explanations],
                })
            cells.append({
                "condition": condition, "languages": per_language, "track": own_track, "score": own_score,
                "own_recommendation": own_track.pk != track.pk,
            })
        rows.append({"seed": seed, "track": track, "score": best.score, "cells": cells})
    return rows
