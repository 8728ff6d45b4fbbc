"""Rendering explanations once and reusing them: files are named by the hash of their inputs, language included."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import formats, translation

from config.jobs import enqueue
from explanations import drawing, regions, verdicts
from explanations.models import Explanation, Spectrogram
from explanations.verdicts import gettext_noop
from recommender import audio, similarity
from recommender.models import AudioAnalysis, SimilarityIndex, Track
from recommender.services import load_index, track_mel

# Bump when what an explanation computes changes; the template's version (drawing.TEMPLATE_VERSION) is part of
# the content hash too, so the record tells apart explanations drawn differently from the same numbers.
RENDERER_VERSION = {Explanation.Kind.FEATURES: 10, Explanation.Kind.SPECTROGRAM: 14, Explanation.Kind.TAGS: 4}


def number(value: float, places: int) -> str:
    """``value`` rounded to ``places`` decimals, written as the active language writes it (0.89; German 0,89).

    Rounded as the figures' own labels are (Python's format); Django's number_format cuts digits off instead.
    """
    return verdicts.plain_number(value, places).replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def content_hash(kind: str, payload: dict) -> str:
    """What names an explanation: its kind, its renderer's version and every input it is drawn from."""
    body = json.dumps(
        {"kind": kind, "renderer": RENDERER_VERSION[kind], "template": drawing.TEMPLATE_VERSION[kind], **payload},
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _raw_features(index: SimilarityIndex, track: Track) -> dict[str, float]:
    """The unscaled values the index was built from: audio analysis, or the catalog's own features."""
    return track.analysis.features if index.feature_set == SimilarityIndex.FeatureSet.AUDIO else track.features


def pair_score(*, index: SimilarityIndex, seed_track: Track, track: Track) -> float:
    """The recommender's score for the pair: the cosine of their index rows. Both figures state this number."""
    loaded = load_index(index.pk)
    return float(np.asarray(loaded.vector(seed_track.pk), dtype=np.float64) @ loaded.vector(track.pk))


def feature_distance_shares(*, index: SimilarityIndex, seed_track: Track, track: Track) -> dict:
    """The numbers behind a feature explanation: each feature's share of 1 − similarity, and both tracks' raw values."""
    seed_values = [_raw_features(index, seed_track)[n] for n in index.feature_names]
    track_values = [_raw_features(index, track)[n] for n in index.feature_names]
    score = pair_score(index=index, seed_track=seed_track, track=track)
    scale = _scale(index)
    # z-scores, not the index's unit rows: see similarity.distance_shares for why.
    shares = similarity.distance_shares(scale.zscores(seed_values)[0], scale.zscores(track_values)[0], cosine=score)
    return {
        "features": list(index.feature_names),
        "shares": [round(float(v), 8) for v in shares],
        "score": score,
        "seed_values": seed_values,
        "track_values": track_values,
    }


def _scale(index: SimilarityIndex) -> similarity.FeatureIndex:
    """The index's standardisation (its mean and std), without its matrix."""
    names = index.feature_names
    return similarity.FeatureIndex(vectors=np.empty((0, len(names))), mean=np.array(index.mean), std=np.array(index.std))


class Rendered(NamedTuple):
    text: str
    alt: str
    data: dict  # every number, and under "drawing" what the page draws
    pictures: tuple[Spectrogram, Spectrogram] | None = None  # the tracks' spectrograms the drawing lies over


def _render_features(
    index: SimilarityIndex, seed_track: Track, track: Track, language: str
) -> tuple[str, Callable[[], Rendered]]:
    numbers = feature_distance_shares(index=index, seed_track=seed_track, track=track)
    payload = {
        "index": index.pk, "seed": seed_track.pk, "track": track.pk, "seed_title": seed_track.title,
        "language": language, **numbers,
    }

    def render():
        t = translation.gettext
        liked = dict(zip(numbers["features"], numbers["seed_values"]))
        recommended = dict(zip(numbers["features"], numbers["track_values"]))
        bars = verdicts.chart_bars(numbers["features"], np.array(numbers["shares"]), liked, recommended)
        values = [verdicts.bar_values(bar, liked, recommended, t, number) for bar in bars]
        text = verdicts.sentence(bars, seed_track.title, t)
        shown = verdicts.shown_shares(bars, numbers["score"])
        alt = t(gettext_noop(
            "Bar chart of how much each feature group adds to the difference between the two tracks "
            "(similarity %(score)s = 1 − sum of the bars; 0 = identical)."
        )) % {"score": number(numbers["score"], 2)} + " " + "; ".join(
            f"{t(bar.label)}: {number(printed, 2)}" + (f" ({value})" if value else "")
            for bar, printed, value in zip(bars, shown, values)
        )
        data = {
            "drawing": drawing.feature_drawing(bars, numbers["score"], values, translate=t, number=number),
            **numbers,
            "language": language,
            "harmony_correlation": (
                verdicts.harmony_agrees(liked, recommended)[1] if "chroma_C" in liked else None
            ),
            "thresholds": {
                "alike_fraction_of_even_share": verdicts.ALIKE_FRACTION_OF_EVEN_SHARE,
                "negligible_share": verdicts.NEGLIGIBLE_SHARE,
                "harmony_min_correlation": verdicts.HARMONY_MIN_CORRELATION,
                "harmony_min_shared_notes": verdicts.HARMONY_MIN_SHARED_NOTES,
            },
            # Every bar as drawn: label, length, colour (verdict) and the values beside it.
            "bars": [
                {"label": bar.label, "share": round(bar.share, 6), "even_share": round(bar.even_share, 6),
                 "verdict": bar.verdict, "values": value, "printed": printed}
                for bar, value, printed in zip(bars, values, shown)
            ],
        }
        if data["harmony_correlation"] is not None and not np.isfinite(data["harmony_correlation"]):
            data["harmony_correlation"] = None  # JSON has no NaN
        return Rendered(text, alt, data)

    return content_hash(Explanation.Kind.FEATURES, payload), render


# Marked for translation; rendered in the participant's language.
HOW_TO_READ = gettext_noop(
    "How to read this: each picture is one track, named above it; time runs left to right, low to high "
    "pitch bottom to top. Brighter = louder."
)
CAPTION_OUTLINED = gettext_noop(
    "Outlined: 3-second passages that the recommender, measuring them the way it measures whole tracks, "
    "finds at least %(threshold)s alike; each box matches the box with the same letter in the other track."
)
CAPTION_NONE_ALIKE = gettext_noop(
    "Nothing is outlined: measured the way the recommender measures whole tracks, no 3-second passage "
    "of one is at least %(threshold)s alike to a passage of the other."
)
CAPTION_CATALOG = gettext_noop(
    "Nothing is outlined: this recommender compares features the catalog provides for whole tracks, "
    "not the sound of their passages."
)


CAPTION_UNMEASURED = gettext_noop(
    "Nothing is outlined: the passages of these tracks could not be measured (their audio is missing)."
)


def _segments(track: Track) -> dict | None:
    """The stored segments of the track's clip (audio.segments_to_json); None if its audio cannot be read.

    An analysis made before segments were stored gets them from its audio file now, saved with
    a conditional UPDATE, so two workers doing this at once write the same thing once.
    """
    analysis = track.analysis
    if analysis.segments is None:
        try:
            analysed = audio.analyse_file(track.audio.path)
        except (ValueError, OSError):  # no file attached, file gone, or undecodable (AudioDecodeError)
            return None
        analysis.segments = audio.segments_to_json(analysed.segments)
        AudioAnalysis.objects.filter(pk=analysis.pk, segments__isnull=True).update(segments=analysis.segments)
    return analysis.segments


def _picture_hash(track: Track) -> str:
    source = track.analysis.audio_sha256 or track.analysis.mel.name
    return hashlib.sha256(f"spectrogram:{drawing.PICTURE_VERSION}:{source}".encode()).hexdigest()


def spectrogram_get_or_draw(*, track: Track) -> Spectrogram:
    """The track's spectrogram picture, drawn once per clip (and again only if its file was lost)."""
    digest = _picture_hash(track)
    existing = Spectrogram.objects.filter(content_hash=digest).first()
    if existing and existing.image and existing.image.storage.exists(existing.image.name):
        return existing
    mel = track_mel(track)
    png, pixels = drawing.spectrogram_png(mel)
    picture = existing or Spectrogram(
        track=track, content_hash=digest, seconds=round(mel.shape[1] * audio.frame_seconds(), 3),
        top_hz=float(audio.mel_frequencies()[-1]),
    )
    picture.pixels = pixels
    picture.image.save(f"{digest}.png", ContentFile(png), save=False)
    if existing:
        existing.save()
        return existing
    try:
        with transaction.atomic():
            picture.save()
    except IntegrityError:  # drawn by another worker meanwhile: the same file, its row wins
        return Spectrogram.objects.get(content_hash=digest)
    return picture


def spectrogram_pair_drawing(
    seed_track: Track, track: Track, *, score: float, regions, translate, **options
) -> tuple[dict, tuple[Spectrogram, Spectrogram]]:
    """What the page draws over both tracks' pictures (drawing.spectrogram_drawing), and the pictures.

    ``options`` go to drawing.spectrogram_drawing (how each outline prints its number).
    """
    pictures = (spectrogram_get_or_draw(track=seed_track), spectrogram_get_or_draw(track=track))
    drawn = drawing.spectrogram_drawing(
        regions=regions, seconds=[p.seconds for p in pictures], frequencies=audio.mel_frequencies(),
        liked_title=seed_track.title, recommended_title=track.title, score=score, translate=translate,
        number=number, **options,
    )
    return drawn, pictures


#: How the alt text reads out a matched pair: segment pairs by their cosine, CNN pairs by their share of the score.
PAIR_ALIKE = gettext_noop(
    "%(label)s (%(score)s alike): %(liked)s of the liked track and %(recommended)s of the recommendation."
)
PAIR_ADDS = gettext_noop(
    "%(label)s (adds %(score)s to the similarity): %(liked)s of the liked track and %(recommended)s of the "
    "recommendation."
)


def spectrogram_alt(seed_track: Track, track: Track, score: float, outlined, t, pair_message: str = PAIR_ALIKE) -> str:
    """The figure read out: both titles, the score, and every outline with its number and where it is."""
    places = 3 if pair_message == PAIR_ADDS else 2  # a region pair's share of the score is small
    alt = t(gettext_noop(
        "Two spectrograms: “%(liked)s”, which you liked, and the recommended “%(recommended)s”, showing how "
        "loud each pitch range is over time. Similarity %(score)s."
    )) % {"liked": seed_track.title, "recommended": track.title, "score": number(score, 2)}
    for region in outlined:
        if region.liked is not None and region.recommended is not None:
            alt += " " + t(pair_message) % {
                "label": region.label, "score": number(region.score, places),
                "liked": drawing.where(region.liked, region.liked_hz, t, number),
                "recommended": drawing.where(region.recommended, region.recommended_hz, t, number),
            }
        else:
            side = t(gettext_noop("liked track")) if region.liked is not None else t(gettext_noop("recommendation"))
            span, hz = (region.liked, region.liked_hz) if region.liked is not None else (region.recommended, region.recommended_hz)
            alt += " " + t(gettext_noop("%(side)s, %(label)s (covering it lowers the similarity by %(score)s): %(where)s.")) % {
                "side": side, "label": region.label, "score": number(region.score, 2), "where": drawing.where(span, hz, t, number),
            }
    return alt


def _render_spectrogram(
    index: SimilarityIndex, seed_track: Track, track: Track, language: str
) -> tuple[str, Callable[[], Rendered]]:
    if index.feature_set not in SimilarityIndex.FEATURES:  # a network's: the CNN or a tagger
        from explanations.network_services import render_network_spectrogram

        return render_network_spectrogram(index, seed_track, track, language)
    score = pair_score(index=index, seed_track=seed_track, track=track)
    payload = {
        "index": index.pk,  # its mean, std and feature set decide the outlines and the score
        "score": round(score, 6),
        "seed_audio": seed_track.analysis.audio_sha256,
        "track_audio": track.analysis.audio_sha256,
        "seed_title": seed_track.title,
        "track_title": track.title,
        "language": language,
    }

    def render():
        t = translation.gettext
        # Segments are read and compared only here: a cached explanation needs none of it.
        threshold = regions.REGION_MIN_SIMILARITY
        stored = [_segments(seed_track), _segments(track)] if index.feature_set == SimilarityIndex.FeatureSet.AUDIO else []
        if stored and None not in stored:
            segment_seconds = float(stored[0]["seconds"])
            scale = _scale(index)
            matrix = regions.segment_similarity(
                *(audio.segments_from_json(s, index.feature_names) for s in stored), mean=scale.mean, std=scale.std
            )
            matched = regions.matching_regions(matrix, segment_seconds=segment_seconds, threshold=threshold)
            outline = t(CAPTION_OUTLINED if matched else CAPTION_NONE_ALIKE) % {"threshold": number(threshold, 2)}
        else:
            matrix, matched, segment_seconds = None, [], None
            outline = t(CAPTION_UNMEASURED if stored else CAPTION_CATALOG)
        drawn, pictures = spectrogram_pair_drawing(seed_track, track, score=score, regions=matched, translate=t)
        alt = spectrogram_alt(seed_track, track, score, matched, t)
        # What the page draws, and what an audit needs to check the outlines.
        data = {
            "drawing": drawn,
            "durations": [p.seconds for p in pictures],
            "language": language,
            "score": score,
            "feature_set": index.feature_set,
            "threshold": threshold,
            "max_regions": regions.MAX_REGIONS,
            "segment_seconds": segment_seconds,
            "regions": [dataclasses.asdict(region) for region in matched],
            # Liked segments × recommended segments: every pair the outlines were chosen from.
            "segment_similarity": None if matrix is None else np.round(matrix, 4).tolist(),
        }
        return Rendered(f"{t(HOW_TO_READ)} {outline}", alt, data, pictures)

    return content_hash(Explanation.Kind.SPECTROGRAM, payload), render


def explanation_get_or_render(
    *, kind: str, seed_track: Track, track: Track, index: SimilarityIndex, language: str = "en"
) -> Explanation:
    """The explanation for this pair in this language, computed only if no identical one exists yet."""
    if kind == Explanation.Kind.FEATURES:
        digest, render = _render_features(index, seed_track, track, language)
    elif kind == Explanation.Kind.SPECTROGRAM:
        digest, render = _render_spectrogram(index, seed_track, track, language)
    elif kind == Explanation.Kind.TAGS:
        from explanations.network_services import render_tags

        digest, render = render_tags(index, seed_track, track, language)
    else:
        raise ValueError(f"unknown explanation kind {kind!r}")

    existing = Explanation.objects.filter(content_hash=digest).select_related(
        "liked_spectrogram", "recommended_spectrogram"
    ).first()
    if existing:
        # A row that outlived its pictures' files (media wiped) gets only those drawn again, under the same names.
        for picture, shown in ((existing.liked_spectrogram, seed_track), (existing.recommended_spectrogram, track)):
            if picture is not None and not picture.image.storage.exists(picture.image.name):
                spectrogram_get_or_draw(track=shown)
        return existing
    # Every text is written in the participant's language, whatever the request's language is.
    with translation.override(language):
        rendered = render()
    pictures = rendered.pictures or (None, None)
    versions = {"renderer": RENDERER_VERSION[kind], "template": drawing.TEMPLATE_VERSION[kind]}
    explanation = Explanation(
        kind=kind, seed_track=seed_track, track=track, index=index, language=language, content_hash=digest,
        text=rendered.text, alt_text=rendered.alt, data={**rendered.data, "versions": versions},
        liked_spectrogram=pictures[0],
        recommended_spectrogram=pictures[1],
    )
    try:
        with transaction.atomic():
            explanation.save()
    except IntegrityError:
        # Another worker computed the same pair meanwhile; its row (identical) wins.
        return Explanation.objects.get(content_hash=digest)
    return explanation


RENDER_CHUNK = 16


def pool_pairs(*, index: SimilarityIndex, per_seed: int) -> list[tuple[int, int]]:
    """(liked, recommended) track pairs a participant can be shown: each track with its nearest neighbours.

    A track recommended for several liked tracks is always among the nearest of the
    one it is explained by, unless liked tracks or their copies pushed it down the
    list; ``per_seed`` = recommendations + most liked tracks covers that.
    """
    loaded = load_index(index.pk)
    pairs = []
    for row, seed_id in enumerate(loaded.track_ids):
        for match in similarity.recommend(loaded.vectors, [row], per_seed):
            pairs.append((int(seed_id), int(loaded.track_ids[match.row])))
    return pairs


def explanations_render_pairs(
    *, index: SimilarityIndex, kinds: list[str], pairs: list, languages: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Every explanation of ``kinds`` for these (liked, recommended) track pairs, in each language; identical ones
    already stored are skipped by their content hash. ``progress(n)`` hears of each explanation done."""
    tracks = Track.objects.select_related("analysis").in_bulk({t for pair in pairs for t in pair})
    for seed_id, track_id in pairs:
        for kind in kinds:
            for language in languages or ["en"]:
                explanation_get_or_render(
                    kind=kind, seed_track=tracks[seed_id], track=tracks[track_id], index=index, language=language
                )
                if progress:
                    progress(1)
    return len(pairs)


def explanations_done(*, index: SimilarityIndex, kinds: list[str], pairs: list, languages: list[str]) -> int:
    """How many of these pairs' explanations are stored as this version computes and draws them."""
    wanted = {(a, b) for a, b in pairs}
    done = 0
    for kind in kinds:
        rows = Explanation.objects.filter(
            index=index, kind=kind, language__in=languages, data__versions__renderer=RENDERER_VERSION[kind],
            data__versions__template=drawing.TEMPLATE_VERSION[kind],
        ).values_list("seed_track_id", "track_id", "language")
        done += len({row for row in rows if row[:2] in wanted})
    return done


def explanations_send(
    *, index: SimilarityIndex, kinds: list[str], pairs: list, languages: list[str], in_process: bool = False,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Compute these pairs' explanations in Celery jobs of RENDER_CHUNK pairs, or ``in_process`` here (telling
    ``progress`` of each one done)."""
    if in_process:
        explanations_render_pairs(index=index, kinds=kinds, pairs=pairs, languages=languages, progress=progress)
        return
    for start in range(0, len(pairs), RENDER_CHUNK):
        enqueue("explanations.tasks.render_explanations", index.pk, kinds, pairs[start : start + RENDER_CHUNK], languages)


def explanations_prerender(
    *, index: SimilarityIndex, kinds: list[str], per_seed: int, languages: list[str] | None = None,
    in_process: bool = False, progress: Callable[[int], None] | None = None,
) -> list[tuple[int, int]]:
    """Compute every explanation of the pool, in each language, so no participant waits for one (see
    explanations_send). Identical ones stored already are skipped by their content hash. Returns the pairs."""
    if not kinds:
        return []
    pairs = pool_pairs(index=index, per_seed=per_seed)
    explanations_send(
        index=index, kinds=kinds, pairs=pairs, languages=list(languages or ["en"]), in_process=in_process,
        progress=progress,
    )
    return pairs
