"""Decoding and analysing audio clips: paths in, arrays and dicts out.

No Django here, so the same functions run in a Celery worker, a test or a
notebook. One STFT per clip feeds every spectral feature and the mel
spectrogram, which keeps a 30 s clip well under a second.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import librosa
import numpy as np

SAMPLE_RATE = 22050
MAX_SECONDS = 30.0
MIN_SECONDS = 1.0
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
N_MFCC = 13
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

#: Order of the feature vector; every matrix and contribution uses it.
FEATURE_NAMES: list[str] = (
    ["tempo", "rms", "spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "zero_crossing_rate"]
    + [f"mfcc_{i}" for i in range(1, N_MFCC + 1)]
    + [f"chroma_{pc}" for pc in PITCH_CLASSES]
)


class AudioDecodeError(ValueError):
    """The file could not be turned into usable audio; the message says why, for a person."""


#: Length of the passages the spectrogram explanation compares. A whole number of STFT
#: frames, so a segment is SEGMENT_FRAMES * HOP_LENGTH / SAMPLE_RATE = 2.995 s long.
SEGMENT_SECONDS = 3.0
SEGMENT_FRAMES = max(1, round(SEGMENT_SECONDS * SAMPLE_RATE / HOP_LENGTH))


@dataclass(frozen=True)
class Analysis:
    features: dict[str, float]
    mel_db: np.ndarray  # (N_MELS, frames), float16, dB re 1.0 power
    duration_s: float
    # (segments, len(FEATURE_NAMES)): the same features for each whole 3-second passage.
    segments: np.ndarray | None = None


def file_sha256(handle: BinaryIO) -> str:
    """The SHA-256 of an open binary file's bytes: the key an analysis is stored and reused by."""
    return hashlib.file_digest(handle, "sha256").hexdigest()


def not_audio(path: str | Path, *, max_bytes: int) -> str | None:
    """Why the file cannot be a clip (too large, or not audio when its header is decoded), or None.

    The check reads the file's own header with libsndfile (WAV, FLAC, OGG/Vorbis and Opus, MP3), so
    a page, a script or an image named .mp3 is refused, whatever its name says.
    """
    import soundfile

    size = Path(path).stat().st_size
    if size > max_bytes:
        return f"has {size:,} bytes; a clip may have at most {max_bytes:,}"
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError, OSError) as error:
        return f"is not audio that can be decoded ({str(error).splitlines()[0][:120]})"
    if info.frames <= 0 or info.samplerate <= 0:
        return "holds no audio"
    return None


def decode(path: str | Path) -> np.ndarray:
    """Read any format libsndfile or audioread knows into mono float32 at 22.05 kHz, at most 30 s."""
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise AudioDecodeError("file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # librosa warns before falling back to audioread; the fallback is fine.
            warnings.simplefilter("ignore")
            y, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True, duration=MAX_SECONDS)
    except Exception as exc:  # libsndfile, audioread and ffmpeg each raise their own types
        detail = f"{exc.__class__.__name__}: {exc}".strip().rstrip(":")
        raise AudioDecodeError(
            f"cannot decode {path.name}: damaged, or not a supported audio format ({detail})"
        ) from exc
    if y.size < MIN_SECONDS * SAMPLE_RATE:
        raise AudioDecodeError(
            f"audio is {y.size / SAMPLE_RATE:.2f} s long; at least {MIN_SECONDS:.0f} s is needed"
        )
    if not np.all(np.isfinite(y)):
        raise AudioDecodeError("audio contains invalid (non-finite) samples")
    return y.astype(np.float32, copy=False)


def analyse_signal(y: np.ndarray, sr: int = SAMPLE_RATE) -> Analysis:
    """Summary features and the mel spectrogram of one decoded clip."""
    if float(np.max(np.abs(y))) < 1e-4:
        raise AudioDecodeError("audio is silent")
    stft_mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))
    power = stft_mag**2
    mel_power = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS)
    mel_db = librosa.power_to_db(mel_power, ref=1.0, amin=1e-10, top_db=None)

    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset_env, sr=sr))[0])
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    # Tuning is taken as A440: estimating it (a pitch track over the whole clip) would
    # double the cost of chroma, and commercial recordings are within a few cents of it.
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0)
    centroid, bandwidth = _centroid_and_bandwidth(stft_mag, sr)
    rms = librosa.feature.rms(S=stft_mag, frame_length=N_FFT)[0]
    rolloff = librosa.feature.spectral_rolloff(S=stft_mag, sr=sr)[0]

    values = (
        [tempo, float(rms.mean()), float(centroid.mean()), float(bandwidth.mean()), float(rolloff.mean())]
        + [_zero_crossing_rate(y)]
        + [float(v) for v in mfcc.mean(axis=1)]
        + [float(v) for v in chroma.mean(axis=1)]
    )
    features = dict(zip(FEATURE_NAMES, values, strict=True))
    bad = [name for name, value in features.items() if not np.isfinite(value)]
    if bad:
        raise AudioDecodeError(f"features could not be computed: {', '.join(bad)}")
    per_frame = np.vstack([rms, centroid, bandwidth, rolloff, mfcc, chroma])
    return Analysis(
        features=features, mel_db=mel_db.astype(np.float16), duration_s=y.size / sr,
        segments=_segment_features(per_frame, y, tempo),
    )


def _segment_features(per_frame: np.ndarray, y: np.ndarray, tempo: float) -> np.ndarray:
    """(segments, len(FEATURE_NAMES)): each whole segment's features, averaged over its frames as the clip's are.

    ``per_frame`` holds every feature but tempo and zero-crossing rate, frame by frame
    (rms, centroid, bandwidth, rolloff, 13 MFCCs, 12 chroma). Three seconds hold too few
    beats to estimate a tempo, so every segment carries the clip's own tempo. A clip
    shorter than one segment is one segment; a tail shorter than one is left out.
    """
    n_segments = max(1, per_frame.shape[1] // SEGMENT_FRAMES)
    rows = []
    for k in range(n_segments):
        frames = per_frame[:, k * SEGMENT_FRAMES : (k + 1) * SEGMENT_FRAMES]
        # Frame t is centred on sample t * HOP_LENGTH, so this segment's samples start there too.
        samples = y[k * SEGMENT_FRAMES * HOP_LENGTH : (k + 1) * SEGMENT_FRAMES * HOP_LENGTH]
        means = frames.mean(axis=1)
        rows.append([tempo, *means[:4], _zero_crossing_rate(samples), *means[4:]])
    return np.array(rows, dtype=np.float64)


def segments_to_json(segments: np.ndarray) -> dict:
    """What AudioAnalysis.segments stores: segment length and one row of FEATURE_NAMES values per segment."""
    seconds = SEGMENT_FRAMES * HOP_LENGTH / SAMPLE_RATE
    return {"seconds": seconds, "names": list(FEATURE_NAMES), "values": np.asarray(segments).tolist()}


def segments_from_json(stored: dict, names: list[str] | None = None) -> np.ndarray:
    """The stored segment matrix, its columns in the order of ``names`` (default FEATURE_NAMES)."""
    columns = [stored["names"].index(name) for name in (names or FEATURE_NAMES)]
    return np.asarray(stored["values"], dtype=np.float64).reshape(-1, len(stored["names"]))[:, columns]


def _centroid_and_bandwidth(magnitude: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame spectral centroid and (p=2) bandwidth, as librosa defines them, from three dot products.

    librosa computes the centroid twice and the deviation with a full-size temporary;
    expanding sum(S * (f - c)^2) = sum(S f^2) - 2 c sum(S f) + c^2 sum(S) needs neither.
    """
    frequencies = librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    total = magnitude.sum(axis=0)
    total[total == 0] = 1.0
    centroid = (frequencies @ magnitude) / total
    second_moment = (frequencies**2 @ magnitude) / total
    bandwidth = np.sqrt(np.maximum(second_moment - centroid**2, 0.0))
    return centroid, bandwidth


def _zero_crossing_rate(y: np.ndarray) -> float:
    """Share of neighbouring samples whose sign differs: the mean of frame-wise rates without framing."""
    return float(np.count_nonzero(np.signbit(y[1:]) != np.signbit(y[:-1])) / max(1, y.size - 1))


def analyse_file(path: str | Path) -> Analysis:
    return analyse_signal(decode(path))


def mel_to_bytes(mel_db: np.ndarray) -> bytes:
    """Compressed ``.npz`` bytes of a float16 mel spectrogram, about a quarter of float32 raw."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, mel_db=mel_db.astype(np.float16))
    return buffer.getvalue()


def mel_from_bytes(data: bytes) -> np.ndarray:
    with np.load(io.BytesIO(data)) as archive:
        return archive["mel_db"]


def mel_frequencies() -> np.ndarray:
    """Centre frequency in Hz of each mel band, for labelling axes."""
    return librosa.mel_frequencies(n_mels=N_MELS, fmin=0.0, fmax=SAMPLE_RATE / 2)


def frame_seconds() -> float:
    return HOP_LENGTH / SAMPLE_RATE
