"""Where two tracks sound most alike: mel spectrograms in, matched time regions out.

Each track is cut into short segments; a segment is described by its timbre
(mean MFCCs) and its harmony (a chroma vector folded from the mel bands). The
descriptors of both tracks are z-scored together, every liked segment is
compared with every recommended segment by cosine, and the best pairs, each
segment used at most once, become the outlined regions. The spectrogram
explanation draws exactly these pairs, so a test can check the picture against
the measure. No Django here.
"""
from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

N_MFCC = 13
SEGMENT_SECONDS = 3.0
# Bands below this carry too little pitch detail to fold into pitch classes.
CHROMA_MIN_HZ, CHROMA_MAX_HZ = 60.0, 5000.0


@dataclass(frozen=True)
class Region:
    label: str
    liked: tuple[float, float]  # start and end, in seconds
    recommended: tuple[float, float]
    score: float  # cosine between the two segments' descriptors


def _chroma_from_mel(mel_power: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """(12, frames): each mel band's power added to the pitch class of its centre frequency."""
    usable = (frequencies >= CHROMA_MIN_HZ) & (frequencies <= CHROMA_MAX_HZ)
    pitch_class = np.round(12 * np.log2(frequencies[usable] / 440.0) + 69).astype(int) % 12
    folding = np.zeros((12, usable.sum()))
    folding[pitch_class, np.arange(usable.sum())] = 1.0
    chroma = folding @ mel_power[usable]
    return chroma / np.maximum(chroma.sum(axis=0, keepdims=True), 1e-10)


def segment_descriptors(mel_db: np.ndarray, frequencies: np.ndarray, frames_per_segment: int) -> np.ndarray:
    """(segments, 13 + 12): mean MFCCs and mean chroma of each whole segment of the clip."""
    mel_db = np.asarray(mel_db, dtype=np.float32)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    chroma = _chroma_from_mel(librosa.db_to_power(mel_db), frequencies)
    n_segments = max(1, mel_db.shape[1] // frames_per_segment)
    frames = n_segments * frames_per_segment
    per_frame = np.vstack([mfcc, chroma])[:, :frames]
    if per_frame.shape[1] < frames:  # a clip shorter than one segment is one segment
        return per_frame.mean(axis=1, keepdims=True).T
    return per_frame.reshape(per_frame.shape[0], n_segments, frames_per_segment).mean(axis=2).T


def segment_similarity(liked: np.ndarray, recommended: np.ndarray) -> np.ndarray:
    """(liked segments, recommended segments) cosine of descriptors z-scored over both tracks together."""
    both = np.vstack([liked, recommended])
    std = both.std(axis=0)
    std[std == 0] = 1.0
    z = (both - both.mean(axis=0)) / std
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-10)
    return z[: len(liked)] @ z[len(liked) :].T


def matching_regions(
    liked_mel_db: np.ndarray,
    recommended_mel_db: np.ndarray,
    *,
    frequencies: np.ndarray,
    seconds_per_frame: float,
    count: int = 2,
    segment_seconds: float = SEGMENT_SECONDS,
) -> list[Region]:
    """The ``count`` most similar segment pairs, best first, no segment in two pairs."""
    frames_per_segment = max(1, int(round(segment_seconds / seconds_per_frame)))
    similarity = segment_similarity(
        segment_descriptors(liked_mel_db, frequencies, frames_per_segment),
        segment_descriptors(recommended_mel_db, frequencies, frames_per_segment),
    )
    segment_s = frames_per_segment * seconds_per_frame
    regions, scores = [], similarity.copy()
    for label in "ABCDEFGH"[:count]:
        if not np.isfinite(scores).any():
            break
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        regions.append(
            Region(
                label=label,
                liked=(round(float(i * segment_s), 3), round(float((i + 1) * segment_s), 3)),
                recommended=(round(float(j * segment_s), 3), round(float((j + 1) * segment_s), 3)),
                score=round(float(similarity[i, j]), 4),
            )
        )
        scores[i, :] = -np.inf
        scores[:, j] = -np.inf
    return regions
