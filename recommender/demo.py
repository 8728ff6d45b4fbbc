"""A synthesised demo catalog: six clearly different styles, deterministic from a seed.

Each clip is rendered from simple instruments (plucked and struck tones, noise
drums, distorted saw chords, detuned pads) so that the demo study has real,
varied audio without any download. Numbers in, float32 signals out.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

SR = 22050
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
NOTE_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


@dataclass(frozen=True)
class DemoClip:
    index: int
    style: str
    title: str
    artist: str
    tempo: float
    key: str
    signal: np.ndarray


# ---------------------------------------------------------------- instruments


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / SR
    attack_n = max(1, int(attack * SR))
    env = np.exp(-t / decay)
    env[:attack_n] *= np.linspace(0, 1, attack_n)
    return env


def _piano(freq: float, dur: float, rng) -> np.ndarray:
    n = int(dur * SR)
    t = np.arange(n) / SR
    tone = sum((0.6**h) * np.sin(2 * np.pi * freq * (h + 1) * t * (1 + 0.0004 * h)) for h in range(6))
    return tone * _env(n, 0.004, 0.55 + rng.uniform(0, 0.3))


def _pluck_bass(freq: float, dur: float) -> np.ndarray:
    n = int(dur * SR)
    t = np.arange(n) / SR
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
    return tone * _env(n, 0.01, 0.25)


def _saw(freq: float, n: int, detune: float = 0.0) -> np.ndarray:
    t = np.arange(n) / SR
    return sum(2 * ((t * freq * (1 + d) + 0.5) % 1.0) - 1 for d in (-detune, 0.0, detune)) / 3


def _kick(n: int = int(0.35 * SR)) -> np.ndarray:
    t = np.arange(n) / SR
    freq = 45 + 110 * np.exp(-t / 0.04)
    return np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / 0.12)


def _noise_hit(rng, dur: float, decay: float, low: float, high: float) -> np.ndarray:
    n = int(dur * SR)
    sos = butter(2, [low, min(high, SR / 2 - 100)], btype="band", fs=SR, output="sos")
    return sosfilt(sos, rng.standard_normal(n)) * _env(n, 0.001, decay)


def _snare(rng) -> np.ndarray:
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    body = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    return body + 1.2 * _noise_hit(rng, 0.25, 0.07, 1500, 8000)


def _hat(rng, open_: bool = False) -> np.ndarray:
    return 0.5 * _noise_hit(rng, 0.3 if open_ else 0.06, 0.12 if open_ else 0.02, 7000, 10500)


def _place(out: np.ndarray, sound: np.ndarray, at_s: float, gain: float = 1.0) -> None:
    start = int(at_s * SR)
    if start >= out.size:
        return
    end = min(out.size, start + sound.size)
    out[start:end] += gain * sound[: end - start]


def _reverb(signal: np.ndarray, rng, seconds: float, wet: float) -> np.ndarray:
    n = int(seconds * SR)
    impulse = rng.standard_normal(n) * np.exp(-np.arange(n) / (SR * seconds / 5))
    tail = fftconvolve(signal, impulse)[: signal.size]
    tail /= np.max(np.abs(tail)) + 1e-9
    return (1 - wet) * signal / (np.max(np.abs(signal)) + 1e-9) + wet * tail


def _chord(root_midi: int, scale: list[int], degree: int, size: int = 3) -> list[int]:
    notes = []
    for step in range(size):
        idx = degree + 2 * step
        notes.append(root_midi + scale[idx % 7] + 12 * (idx // 7))
    return notes


# ---------------------------------------------------------------- styles


def _ballad(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    out = np.zeros(int(seconds * SR))
    beat = 60 / tempo
    progression = rng.choice([[0, 5, 3, 4], [0, 3, 4, 0], [5, 3, 0, 4]])
    t, bar = 0.0, 0
    while t < seconds:
        notes = _chord(root + 48, MAJOR, int(progression[bar % 4]))
        for i, note in enumerate(notes):  # a slow broken chord per bar
            _place(out, _piano(_hz(note), 2.5, rng), t + i * beat * 0.5, 0.35)
        _place(out, _piano(_hz(notes[0] - 12), 3.0, rng), t, 0.4)
        for b in range(4):  # a right-hand melody on the beats
            if rng.random() < 0.75:
                melody = root + 72 + MAJOR[int(rng.integers(0, 7))]
                _place(out, _piano(_hz(melody), 1.5, rng), t + b * beat, 0.3)
        t += 4 * beat
        bar += 1
    return _reverb(out, rng, 1.8, 0.35)


def _electronic(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    out = np.zeros(int(seconds * SR))
    beat = 60 / tempo
    kick, n_beats = _kick(), int(seconds / beat) + 1
    bass_notes = [root + 36 + MINOR[d] for d in rng.choice([0, 3, 4, 5], size=4)]
    sos = butter(2, 900, btype="low", fs=SR, output="sos")
    for b in range(n_beats):
        at = b * beat
        _place(out, kick, at, 0.9)  # four on the floor
        _place(out, _hat(rng), at + beat / 2, 0.35)
        if b % 2 == 1:
            _place(out, _hat(rng, open_=True), at, 0.15)
        note = bass_notes[(b // 4) % 4]
        bass = sosfilt(sos, _saw(_hz(note), int(beat / 2 * SR))) * _env(int(beat / 2 * SR), 0.005, 0.15)
        _place(out, bass, at + beat / 2, 0.5)
    pad_len = int(4 * beat * SR)
    for bar in range(n_beats // 4 + 1):
        notes = _chord(root + 60, MINOR, int(rng.choice([0, 5, 3, 6])))
        pad = sum(_saw(_hz(nn), pad_len, 0.004) for nn in notes) * _env(pad_len, 0.3, 2.0)
        _place(out, sosfilt(butter(2, 2500, fs=SR, output="sos"), pad), bar * 4 * beat, 0.12)
    return out


def _rock(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    out = np.zeros(int(seconds * SR))
    beat = 60 / tempo
    riff = rng.choice([[0, 0, 3, 5], [0, 5, 3, 3], [0, 7, 5, 3]])
    kick, n_beats = _kick(), int(seconds / beat) + 1
    for b in range(n_beats):
        at = b * beat
        _place(out, kick, at if b % 2 == 0 else at + beat / 2, 0.8)
        if b % 2 == 1:
            _place(out, _snare(rng), at, 0.9)  # backbeat on 2 and 4
        _place(out, _hat(rng), at, 0.25)
        _place(out, _hat(rng), at + beat / 2, 0.2)
        note = root + 40 + riff[(b // 2) % 4]
        n = int(beat * SR)
        power_chord = _saw(_hz(note), n, 0.003) + _saw(_hz(note + 7), n, 0.003) + _saw(_hz(note + 12), n)
        guitar = np.tanh(6 * power_chord) * _env(n, 0.005, 0.6)  # distortion by soft clipping
        _place(out, guitar, at, 0.35)
    return out


def _ambient(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros(n)
    chord_len = float(rng.uniform(6, 10))
    for start in np.arange(0, seconds, chord_len):
        notes = _chord(root + 48, MAJOR, int(rng.choice([0, 3, 5, 1])), size=4)
        seg = np.zeros(n)
        for note in notes:
            f = _hz(note)
            seg += sum(np.sin(2 * np.pi * f * (1 + d) * t + rng.uniform(0, 6)) for d in (-0.003, 0, 0.003))
        fade = np.clip(1 - np.abs((t - start - chord_len / 2) / (chord_len * 0.75)), 0, 1) ** 1.5
        out += seg * fade
    shimmer = sosfilt(butter(2, [3000, 6000], btype="band", fs=SR, output="sos"), rng.standard_normal(n))
    out = out / (np.max(np.abs(out)) + 1e-9) + 0.02 * shimmer * (1 + np.sin(2 * np.pi * 0.07 * t))
    out *= 0.75 + 0.25 * np.sin(2 * np.pi * t / float(rng.uniform(7, 13)))
    return _reverb(out, rng, 3.0, 0.5)


def _jazz(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    out = np.zeros(int(seconds * SR))
    beat = 60 / tempo
    n_beats = int(seconds / beat) + 1
    swing = 2 / 3  # the second eighth note lands two thirds through the beat
    progression = [1, 4, 0, 0]  # ii-V-I
    for b in range(n_beats):
        at = b * beat
        degree = progression[(b // 4) % 4]
        walk = root + 36 + MAJOR[(degree + [0, 2, 4, 5][b % 4]) % 7]
        _place(out, _pluck_bass(_hz(walk), beat * 0.95), at, 0.6)  # walking bass on every beat
        _place(out, _noise_hit(rng, 0.4, 0.18, 5000, 10000), at, 0.25)  # ride
        if b % 2 == 1:
            _place(out, _noise_hit(rng, 0.3, 0.12, 5000, 10000), at + swing * beat, 0.2)
            _place(out, _hat(rng), at, 0.2)  # hi-hat foot on 2 and 4
        if rng.random() < 0.35:  # comping with seventh chords, off the beat
            for note in _chord(root + 60, MAJOR, degree, size=4):
                _place(out, _piano(_hz(note), 0.6, rng), at + swing * beat, 0.12)
    return _reverb(out, rng, 0.8, 0.2)


def _hiphop(rng, seconds: float, tempo: float, root: int) -> np.ndarray:
    out = np.zeros(int(seconds * SR))
    beat = 60 / tempo
    kick, n_bars = _kick(int(0.6 * SR)), int(seconds / (4 * beat)) + 1
    t_sub = np.arange(int(beat * 2 * SR)) / SR
    for bar in range(n_bars):
        at = bar * 4 * beat
        for k in (0.0, 1.5, 2.75 if rng.random() < 0.5 else 2.5):
            _place(out, kick, at + k * beat, 1.0)
        for s in (1, 3):
            _place(out, _snare(rng), at + s * beat, 0.8)
        for e in range(8):
            if rng.random() < 0.8:
                _place(out, _hat(rng), at + e * beat / 2 + (0.06 * beat if e % 2 else 0), 0.2)
        note = root + 28 + MINOR[int(rng.choice([0, 3, 5]))]
        sub = np.sin(2 * np.pi * _hz(note) * t_sub) * _env(t_sub.size, 0.01, 0.8)
        _place(out, sub, at, 0.5)
        if rng.random() < 0.6:
            _place(out, _piano(_hz(root + 60 + MINOR[int(rng.integers(0, 7))]), 1.2, rng), at + 2 * beat, 0.15)
    return out


STYLES = {
    # style: (render, tempo range, artists)
    "Piano ballad": (_ballad, (58, 76), ["Mara Lindqvist", "The Quiet Hours", "Elias Brandt"]),
    "Electronic": (_electronic, (118, 130), ["Neon Relay", "Kiloherz", "Subgrid"]),
    "Rock": (_rock, (100, 150), ["Rust Valley", "The Amplified", "Halfway Static"]),
    "Ambient": (_ambient, (50, 70), ["Aurora Field", "Slow Tides", "Lumen Drift"]),
    "Swing jazz": (_jazz, (130, 190), ["Dizzy Fingers Trio", "The Blue Stairs", "Hattie Cole Quartet"]),
    "Hip-hop": (_hiphop, (80, 96), ["MC Parallax", "Low Ridge Beats", "Kilo Verse"]),
}

_TITLE_A = ["Midnight", "Paper", "Golden", "Silent", "Electric", "Hollow", "Velvet", "Northern", "Broken",
            "Crimson", "Distant", "Open", "Summer", "Glass", "Wild", "Lonely"]
_TITLE_B = ["Harbour", "Signal", "Rain", "Avenue", "Garden", "Engine", "Letters", "Orbit", "Fever",
            "Horizon", "Lanterns", "Morning", "Circuit", "River", "Echoes", "Machine"]


def clip_plan(n_per_style: int) -> list[tuple[int, str]]:
    """(index, style) for every clip, styles interleaved so a partial catalog stays varied."""
    return [(i * len(STYLES) + s, style) for i in range(n_per_style) for s, style in enumerate(STYLES)]


def synthesise_mp3(index: int, style: str, seed: int, seconds: float = 30.0) -> tuple[DemoClip, bytes]:
    """synthesise_clip's clip and its signal as the MP3 file's bytes the demo catalog stores."""
    import soundfile

    clip = synthesise_clip(index, style, seed, seconds)
    buffer = io.BytesIO()
    soundfile.write(buffer, clip.signal, SR, format="MP3")
    return clip, buffer.getvalue()


def synthesise_clip(index: int, style: str, seed: int, seconds: float = 30.0) -> DemoClip:
    rng = np.random.default_rng([seed, index])
    render, (low, high), artists = STYLES[style]
    tempo = float(rng.uniform(low, high))
    root = int(rng.integers(0, 12))
    signal = render(rng, seconds, tempo, root)
    signal = signal[: int(seconds * SR)]
    signal = 0.89 * signal / (np.max(np.abs(signal)) + 1e-9)
    fade = int(0.05 * SR)
    signal[:fade] *= np.linspace(0, 1, fade)
    signal[-fade:] *= np.linspace(1, 0, fade)
    title = f"{_TITLE_A[int(rng.integers(0, 16))]} {_TITLE_B[int(rng.integers(0, 16))]}"
    return DemoClip(
        index=index,
        style=style,
        title=title,
        artist=artists[index % len(artists)],
        tempo=round(tempo, 1),
        key=f"{NOTE_NAMES[root]} {'major' if render in (_ballad, _ambient, _jazz) else 'minor'}",
        signal=signal.astype(np.float32),
    )
