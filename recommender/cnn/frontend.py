"""musicnn's input: log-compressed 96-band mel spectrograms at 16 kHz, cut into 3-second patches.

numpy and librosa only (no torch), so the conversion script can share it. The settings are those
of musicnn 0.1.0's `extractor.batch_data`, which calls librosa's defaults: a Hann window, centred
frames, power 2, Slaney-style mel filters (htk=False) with Slaney area normalisation, 0 Hz to the
Nyquist frequency.
"""
from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
# librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1, as musicnn computes it.
PATCH_FRAMES = 187


def load_signal(path: str | Path, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode any file librosa reads into mono float32 at 16 kHz."""
    y, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True, duration=max_seconds)
    return y.astype(np.float32, copy=False)


def log_mel(signal: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, 96) float32: log10(10000 * mel power + 1), as musicnn was trained on.

    musicnn's own extractor casts the mel power to float16 before the log, which overflows to
    infinity on loud clips (float16 stops at 65504); the log here is taken in float32. Frames
    are padded by reflection at both ends, as the librosa musicnn was trained with did (librosa
    0.10 changed its default to zeros).
    """
    y = np.asarray(signal, dtype=np.float32)
    if y.ndim != 1:
        y = librosa.to_mono(y)
    if sr != SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE)
    if y.size == 0:
        raise ValueError("the signal is empty")
    power = librosa.feature.melspectrogram(
        y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS, pad_mode="reflect",
    )
    return np.log10(np.float32(10_000) * power.T.astype(np.float32) + np.float32(1))


def patches(mel: np.ndarray) -> np.ndarray:
    """(n, 187, 96) float32: the spectrogram cut into non-overlapping 3-second patches.

    As in musicnn's extractor, a last patch shorter than 187 frames is dropped (a 30-s clip has
    1876 frames: ten patches, the last 6 frames unused). A clip shorter than one patch, on which
    musicnn's extractor fails, is repeated until it fills one, as musicnn's training padded
    short clips ("pad_short": "repeat-pad").
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.shape[0] < PATCH_FRAMES:
        # np.resize repeats the rows in order: row-major data cycled whole rows at a time.
        mel = np.resize(mel, (PATCH_FRAMES, mel.shape[1]))
    n = mel.shape[0] // PATCH_FRAMES
    return np.ascontiguousarray(mel[: n * PATCH_FRAMES].reshape(n, PATCH_FRAMES, mel.shape[1]))
