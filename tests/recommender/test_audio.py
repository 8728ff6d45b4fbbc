import numpy as np
import pytest
import soundfile as sf

from recommender import audio

SR = audio.SAMPLE_RATE


def tone(freq: float, seconds: float = 3.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clicks(bpm: float, seconds: float = 12.0) -> np.ndarray:
    y = np.zeros(int(seconds * SR), dtype=np.float32)
    click = np.hanning(200) * np.sin(2 * np.pi * 1500 * np.arange(200) / SR)
    for start in np.arange(0, seconds, 60 / bpm):
        i = int(start * SR)
        y[i : i + 200] += click[: len(y) - i]
    return y


@pytest.mark.parametrize(("fmt", "ext"), [("WAV", "wav"), ("OGG", "ogg"), ("FLAC", "flac"), ("MP3", "mp3")])
def test_it_decodes_each_format_to_mono_at_22050_hz(tmp_path, fmt, ext):
    stereo_44k = np.stack([tone(440, 2, 44100), tone(660, 2, 44100)], axis=1)
    path = tmp_path / f"clip.{ext}"
    sf.write(path, stereo_44k, 44100, format=fmt)

    y = audio.decode(path)

    assert y.ndim == 1 and y.dtype == np.float32
    assert abs(y.size - 2 * SR) < 0.05 * SR


def test_it_keeps_at_most_30_seconds(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, tone(220, 34), SR)
    assert audio.decode(path).size == 30 * SR


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage that is not audio" * 20, "cannot decode"),
        (b"\x00\x01\x02not an mp3 at all" * 50, "cannot decode"),
    ],
)
def test_unreadable_files_raise_a_reason_a_person_understands(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(audio.AudioDecodeError, match=reason):
        audio.decode(path)


def test_silence_and_too_short_clips_are_rejected(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, tone(440, 0.3), SR)
    with pytest.raises(audio.AudioDecodeError, match="at least"):
        audio.decode(short)
    with pytest.raises(audio.AudioDecodeError, match="silent"):
        audio.analyse_signal(np.zeros(3 * SR, dtype=np.float32))


def test_features_come_in_the_documented_order():
    result = audio.analyse_signal(tone(440))
    assert list(result.features) == audio.FEATURE_NAMES
    assert len(audio.FEATURE_NAMES) == 6 + 13 + 12
    assert all(np.isfinite(v) for v in result.features.values())


def test_a_higher_tone_is_brighter_and_crosses_zero_more_often():
    low, high = audio.analyse_signal(tone(200)), audio.analyse_signal(tone(2000))
    assert high.features["spectral_centroid"] > 4 * low.features["spectral_centroid"]
    assert high.features["zero_crossing_rate"] > 4 * low.features["zero_crossing_rate"]
    assert 1900 < high.features["spectral_centroid"] < 2300


def test_a_louder_tone_has_more_rms_energy():
    assert audio.analyse_signal(tone(440) * 1.8).features["rms"] > 1.5 * audio.analyse_signal(tone(440)).features["rms"]


def test_chroma_peaks_at_the_played_pitch_class():
    a440 = audio.analyse_signal(tone(440)).features
    chroma = {pc: a440[f"chroma_{pc}"] for pc in audio.PITCH_CLASSES}
    assert max(chroma, key=chroma.get) == "A"


@pytest.mark.parametrize("bpm", [90, 128])
def test_tempo_of_a_click_track_is_found(bpm):
    tempo = audio.analyse_signal(clicks(bpm)).features["tempo"]
    assert abs(tempo - bpm) / bpm < 0.04


def test_mel_spectrogram_is_128_bands_of_float16_db_and_survives_compression():
    result = audio.analyse_signal(tone(440, 5))
    assert result.mel_db.shape == (128, 1 + 5 * SR // audio.HOP_LENGTH)
    assert result.mel_db.dtype == np.float16
    data = audio.mel_to_bytes(result.mel_db)
    assert len(data) < result.mel_db.nbytes
    np.testing.assert_array_equal(audio.mel_from_bytes(data), result.mel_db)
    # The band holding 440 Hz is the loudest one.
    loudest_band = int(np.argmax(result.mel_db.astype(np.float32).mean(axis=1)))
    assert abs(audio.mel_frequencies()[loudest_band] - 440) < 40


def test_each_3_second_segment_carries_the_features_the_recommender_compares_tracks_by():
    """Segments are measured like whole clips: a steady tone's segments match the clip's own features."""
    result = audio.analyse_signal(tone(440, 10))
    assert result.segments.shape == (3, len(audio.FEATURE_NAMES))  # 10 s: three whole segments, the tail left out
    whole = np.array([result.features[name] for name in audio.FEATURE_NAMES])
    # Three seconds are too short for a tempo of their own: every segment carries the clip's.
    assert np.all(result.segments[:, 0] == result.features["tempo"])
    # All but bandwidth, which a pure tone has so little of that the clip's two edge frames dominate it.
    same = [i for i, name in enumerate(audio.FEATURE_NAMES) if name != "spectral_bandwidth"]
    np.testing.assert_allclose(result.segments[1, same], whole[same], rtol=0.05, atol=0.05)
    chroma = result.segments[1, -12:]
    assert audio.PITCH_CLASSES[int(np.argmax(chroma))] == "A"


def test_a_change_within_the_clip_shows_in_its_segments():
    y = np.concatenate([tone(200, 3.0), tone(2000, 3.0)])
    centroid = audio.FEATURE_NAMES.index("spectral_centroid")
    segments = audio.analyse_signal(y).segments
    assert segments[1, centroid] > 4 * segments[0, centroid]


def test_a_clip_shorter_than_a_segment_is_one_segment_and_segments_survive_json():
    result = audio.analyse_signal(tone(440, 2))
    assert result.segments.shape == (1, len(audio.FEATURE_NAMES))
    stored = audio.segments_to_json(result.segments)
    assert stored["seconds"] == pytest.approx(audio.SEGMENT_FRAMES * audio.HOP_LENGTH / SR)
    np.testing.assert_array_equal(audio.segments_from_json(stored), result.segments)
    reordered = audio.segments_from_json(stored, ["rms", "tempo"])
    np.testing.assert_array_equal(reordered, result.segments[:, [1, 0]])
