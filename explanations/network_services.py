"""Explanations of recommendations made by the networks: spectrograms with the regions the network's
similarity comes from, and the tagger's shared tags. Called from explanations.services, which caches
what these render by the hash of every input (the network's weights hash included)."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from django.utils import translation

from explanations import drawing, network_regions, tags
from explanations.models import Explanation
from explanations.regions import Region
from explanations.services import (
    HOW_TO_READ,
    PAIR_ADDS,
    Rendered,
    content_hash,
    number,
    pair_score,
    spectrogram_alt,
    spectrogram_pair_drawing,
)
from explanations.verdicts import gettext_noop, percent
from recommender import networks
from recommender.models import SimilarityIndex, Track, TrackEmbedding

FeatureSet = SimilarityIndex.FeatureSet

#: What the tagger's occlusion costs: seconds per pair of 30-second clips, once for every language, on one core of
#: a 2-core machine (a tagger pass per covered passage: 2 x 30 of them). Every other explanation takes milliseconds.
#: Measured on ../shared/realmusic (tagger_occlusion over five pairs of 30-s clips, torch on both cores): 4.2 s.
OCCLUSION_SECONDS_PER_PAIR = 4.2

CAPTION_CNN = gettext_noop(
    "Outlined on the recommended track: the passages (%(seconds)s seconds, in a low, middle or high pitch "
    "range) that make it most like the track you liked, each with its share of the similarity; the box with "
    "the same letter on your track is the passage it matches best. Together they carry %(share)s of what "
    "makes these two tracks alike."
)
CAPTION_CNN_NONE = gettext_noop(
    "Nothing is outlined: the likeness of these two tracks is spread evenly over them, so no passage stands out."
)
CAPTION_TAGGER = gettext_noop(
    "Outlined on each track: the passages (3 seconds, in a low, middle or high pitch range) that, covered "
    "up, lower the similarity most (by at least %(drop)s); 1 is the largest on each track."
)
CAPTION_TAGGER_NONE = gettext_noop(
    "Nothing is outlined: covering any one passage of either track lowers the similarity by less than %(drop)s."
)


def _network_payload(index: SimilarityIndex, seed_track: Track, track: Track, language: str) -> dict:
    return {
        "index": index.pk, "feature_set": index.feature_set, "model": index.model.sha256,
        "score": round(pair_score(index=index, seed_track=seed_track, track=track), 6),
        "seed_audio": seed_track.analysis.audio_sha256, "track_audio": track.analysis.audio_sha256,
        "seed_title": seed_track.title, "track_title": track.title, "language": language,
    }


@lru_cache(maxsize=4096)
def _track_regions(index: SimilarityIndex, track: Track, audio_sha256: str) -> tuple[np.ndarray, network_regions.Grid]:
    """Each region's part of a track's centred CNN embedding, and its grid of passages: one forward pass per
    track, not per pair and language; some 15 KB a track, so a 1,000-track catalog's prerender keeps them all
    (an index never changes; the audio's hash keys the cache to the clip's contents)."""
    from recommender.cnn import contrastive

    log_mel = networks.track_log_mel(track=track)
    grid = network_regions.grid_of(log_mel)
    cells = contrastive.cells(networks.load_network(index.model_id), log_mel)
    return network_regions.region_parts(cells, grid, centre=np.asarray(index.mean)), grid


def _cnn_regions(index: SimilarityIndex, seed_track: Track, track: Track) -> tuple[list[Region], dict]:
    from recommender.cnn import contrastive

    parts_a, grid_a = _track_regions(index, seed_track, seed_track.analysis.audio_sha256)
    parts_b, grid_b = _track_regions(index, track, track.analysis.audio_sha256)
    pairs = contrastive.part_products(parts_a, parts_b)
    outlined = network_regions.recommended_regions(pairs, grid_a, grid_b)
    return outlined.regions, {
        "method": "exact region-pair decomposition of the CNN's cosine centred on the catalog's mean; "
                  "regions of the recommended track summed over the liked track",
        "threshold": outlined.threshold,
        "outlined_share": outlined.share,
        "positive_sum": round(float(outlined.by_region[outlined.by_region > 0].sum()), 6),
        "pair_sum": float(pairs.sum()),
        "by_region": np.round(outlined.by_region, 6).tolist(),
        "region_pairs": np.round(pairs, 6).tolist(),
        "passage_seconds": [grid_a.seconds(0)[1], grid_b.seconds(0)[1]],
        "bands_hz": [grid_a.hertz(b) for b in range(network_regions.N_BANDS)],
    }


@lru_cache(maxsize=64)
def _occlusion(index: SimilarityIndex, seed_track: Track, track: Track, audio: tuple[str, str]):
    """The tagger's occlusion of a pair (its costly part: a forward pass per covered region), once for every
    language it is explained in (the clips' hashes key the cache to their contents)."""
    mel_a, mel_b = networks.track_log_mel(track=seed_track), networks.track_log_mel(track=track)
    model = networks.load_network(index.model_id)
    measured = network_regions.tagger_occlusion(model, mel_a, mel_b, mean=index.mean, std=index.std)
    return measured, network_regions.tagger_grid(mel_a), network_regions.tagger_grid(mel_b)


def _tagger_regions(index: SimilarityIndex, seed_track: Track, track: Track) -> tuple[list[Region], dict]:
    audio = (seed_track.analysis.audio_sha256, track.analysis.audio_sha256)
    (score, drops_a, drops_b), grid_a, grid_b = _occlusion(index, seed_track, track, audio)
    found = []
    for rank, region in enumerate(network_regions.top_regions(drops_a, grid_a), start=1):
        found.append(Region(str(rank), grid_a.seconds(region), None, round(float(drops_a[region]), 4), grid_a.hertz(region)))
    for rank, region in enumerate(network_regions.top_regions(drops_b, grid_b), start=1):
        found.append(Region(str(rank), None, grid_b.seconds(region), round(float(drops_b[region]), 4), None,
                            grid_b.hertz(region)))
    return found, {
        "method": "occlusion: each region set to silence, the tagger index's similarity recomputed",
        "threshold": network_regions.OCCLUSION_MIN_DROP,
        "occlusion_score": score,
        "drops_liked": np.round(drops_a, 6).tolist(),
        "drops_recommended": np.round(drops_b, 6).tolist(),
    }


def render_network_spectrogram(
    index: SimilarityIndex, seed_track: Track, track: Track, language: str
) -> tuple[str, Callable[[], Rendered]]:
    """Spectrograms outlined where the recommending network's similarity comes from (CNN: exact; tagger: occlusion)."""
    payload = _network_payload(index, seed_track, track, language)
    score = payload["score"]

    def render():
        t = translation.gettext
        if index.feature_set == FeatureSet.CNN:
            found, numbers = _cnn_regions(index, seed_track, track)
            outline = t(CAPTION_CNN if found else CAPTION_CNN_NONE) % {
                "seconds": number(network_regions.PASSAGE_SECONDS, 0),
                "share": percent(numbers["outlined_share"], t),
            }
        else:
            found, numbers = _tagger_regions(index, seed_track, track)
            caption = CAPTION_TAGGER if found else CAPTION_TAGGER_NONE
            outline = t(caption) % {"drop": number(network_regions.OCCLUSION_MIN_DROP, 2)}
        cnn = index.feature_set == FeatureSet.CNN
        drawn, pictures = spectrogram_pair_drawing(
            seed_track, track, score=score, regions=found, translate=t,
            # A CNN region's number is its part of what makes the tracks alike (the positive contributions),
            # printed as a percentage of it: the caption's total is the sum of the labels.
            share_of=numbers["positive_sum"] if cnn and numbers.get("positive_sum") else None,
        )
        data = {
            "drawing": drawn, "durations": [p.seconds for p in pictures],
            "language": language, "score": score, "feature_set": index.feature_set, "model": index.model.sha256,
            "max_regions": network_regions.MAX_PAIRS, "regions": [r.__dict__ for r in found], **numbers,
        }
        alt = spectrogram_alt(seed_track, track, score, found, t, PAIR_ADDS)
        return Rendered(f"{t(HOW_TO_READ)} {outline}", alt, data, pictures)

    return content_hash(Explanation.Kind.SPECTROGRAM, payload), render


def _tag_probabilities(track: Track, model) -> list[float]:
    embedding = TrackEmbedding.objects.filter(track=track, model=model).first() or networks.track_embed(track=track, model=model)
    return embedding.tags


@lru_cache(maxsize=64)
def _typical_tags(index_id: int, source_sha256: str) -> tuple[float, ...]:
    """Each tag's median probability over the tracks of a tagger index (an index never changes; the hash keys
    the cache to its contents)."""
    probabilities = networks.index_tag_probabilities(SimilarityIndex.objects.get(pk=index_id))
    return tuple(round(float(v), 4) for v in tags.catalog_medians(probabilities))


def render_tags(index: SimilarityIndex, seed_track: Track, track: Track, language: str) -> tuple[str, Callable[[], Rendered]]:
    """The tags the tagger hears in both tracks more than in the catalog's typical track, for a recommendation
    the tagger made, with the similarity it scored."""
    if index.feature_set not in SimilarityIndex.TAGGERS.values():
        raise ValueError("the tags explanation explains the tagger's recommendations only")
    model = index.model
    liked, recommended = _tag_probabilities(seed_track, model), _tag_probabilities(track, model)
    typical = list(_typical_tags(index.pk, index.source_sha256))
    payload = {
        **_network_payload(index, seed_track, track, language), "liked_tags": liked, "recommended_tags": recommended,
        "typical_tags": typical,
    }
    score = payload["score"]

    def render():
        t = translation.gettext
        names = networks.load_network(model.pk).tag_names
        rows = tags.tag_rows(names, liked, recommended, typical)
        text = tags.sentence(rows, t)
        alt = t(gettext_noop(
            "Bar chart of the tags the tagger hears in “%(liked)s”, which you liked, and the recommended "
            "“%(recommended)s” (similarity %(score)s)."
        )) % {"liked": seed_track.title, "recommended": track.title, "score": number(score, 2)} + " " + "; ".join(
            f"{tags.label(r.tag, t)}: {percent(r.liked, t)} / {percent(r.recommended, t)} ("
            f"{t(gettext_noop('typical here: %(value)s')) % {'value': percent(r.typical, t)}})"
            for r in rows
        )
        data = {
            "drawing": drawing.tags_drawing(
                rows, score, liked_title=seed_track.title, recommended_title=track.title, translate=t, number=number
            ),
            "language": language, "score": score, "feature_set": index.feature_set, "model": model.sha256,
            "shared_min_probability": tags.SHARED_MIN_PROBABILITY, "stands_out_factor": tags.STANDS_OUT_FACTOR,
            "stands_out_margin": tags.STANDS_OUT_MARGIN,
            "rows": [{"tag": r.tag, "liked": r.liked, "recommended": r.recommended, "typical": r.typical,
                      "threshold": round(r.threshold, 4), "heard_in_both": r.heard_in_both}
                     for r in rows],
        }
        return Rendered(text, alt, data)

    return content_hash(Explanation.Kind.TAGS, payload), render
