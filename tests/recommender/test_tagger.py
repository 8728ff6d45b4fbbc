"""The musicnn taggers ported to PyTorch (MagnaTagATune, the default, and Million Song Dataset):
they reproduce the original networks, and give finite, plausible tags and embeddings on any clip.
Runs on the CPU in a few seconds."""
import csv
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from recommender.cnn import frontend, tagger
from recommender.cnn.convert_musicnn import MSD_LABELS, reference_signals

# One process trains or loads this module's shared model once (a session fixture), not one per xdist worker.
pytestmark = pytest.mark.xdist_group("tagger")

REFERENCE = Path(__file__).resolve().parent / "data" / "musicnn_reference.npz"
MSD_REFERENCE = Path(__file__).resolve().parent / "data" / "musicnn_msd_reference.npz"
REALMUSIC = Path(__file__).resolve().parents[3] / "shared" / "realmusic"
SR = frontend.SAMPLE_RATE


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def model():
    return tagger.load_tagger("cpu")


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def msd_model():
    return tagger.load_tagger("cpu", vocabulary="msd")


def _load_reference(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def reference():
    return _load_reference(REFERENCE)


@pytest.fixture(scope="session")  # kept for the whole run: its module shares one xdist worker
def msd_reference():
    return _load_reference(MSD_REFERENCE)


def test_the_port_reproduces_the_original_tensorflow_network(model, reference):
    """Outputs stored from musicnn's own TF graph (convert_musicnn.py), on the same float16 patches:
    tag probabilities within 1e-4; the embedding, whose values reach about 5, within 5e-4."""
    probabilities, embeddings = tagger.tag_patches(reference["patches"], model=model)
    assert np.abs(probabilities - reference["probabilities"]).max() <= 1e-4
    assert np.abs(embeddings - reference["penultimate"]).max() <= 5e-4


def test_the_msd_port_reproduces_the_original_tensorflow_network(msd_model, msd_reference):
    """MSD_musicnn's TF graph on the same float16 patches as the MTT reference: tag probabilities and
    the 200-d penultimate layer (values up to about 9) both within 1e-4."""
    assert np.array_equal(msd_reference["patches"], _load_reference(REFERENCE)["patches"])
    probabilities, embeddings = tagger.tag_patches(msd_reference["patches"], model=msd_model)
    assert embeddings.shape == msd_reference["penultimate"].shape == (len(msd_reference["patches"]), 200)
    assert np.abs(probabilities - msd_reference["probabilities"]).max() <= 1e-4
    assert np.abs(embeddings - msd_reference["penultimate"]).max() <= 1e-4


def test_the_msd_tagger_speaks_the_million_song_dataset_vocabulary(msd_model):
    """last.fm genres, moods and decades in musicnn's MSD_LABELS order, spelt as there; none of
    MagnaTagATune's instrument tags that are not also genres."""
    names = msd_model.tag_names
    assert names == MSD_LABELS and len(set(names)) == 50
    assert names[:5] == ["rock", "pop", "alternative", "indie", "electronic"] and names[-1] == "happy"
    assert {"electronic", "instrumental", "80s", "chillout", "Hip-Hop", "Progressive rock"} <= set(names)
    assert not {"sitar", "harpsichord", "flute", "no vocals"} & set(names)
    output = tagger.tag_clip(reference_signals()["chirp_and_noise"], model=msd_model)
    assert output.tag_names == names and output.tags.shape == (50,) and output.embedding.shape == (200,)


def test_a_tagger_is_loaded_by_its_vocabulary_name(model, msd_model):
    """The default is "mtt" everywhere; a path, when given, wins over the name."""
    assert tagger.TAGGERS == {"mtt": tagger.WEIGHTS_MTT, "msd": tagger.WEIGHTS_MSD}
    assert tagger.WEIGHTS == tagger.WEIGHTS_MTT
    assert model.tag_names[0] == "guitar" and msd_model.tag_names[0] == "rock"
    msd_state, mtt_state = msd_model.state_dict(), model.state_dict()
    assert not torch.equal(msd_state["classifier.weight"], mtt_state["classifier.weight"])
    assert tagger.load_tagger("cpu", tagger.WEIGHTS_MSD, vocabulary="mtt").tag_names == msd_model.tag_names
    with pytest.raises(ValueError, match="no tagger with vocabulary 'gtzan'"):
        tagger.load_tagger("cpu", vocabulary="gtzan")
    assert tagger.default_tagger() is tagger.default_tagger("mtt") is tagger.default_tagger(vocabulary="mtt")
    assert tagger.default_tagger("msd").tag_names == msd_model.tag_names
    assert tagger.default_tagger("msd") is not tagger.default_tagger()


def test_the_front_end_still_makes_the_patches_the_reference_was_computed_on(reference):
    """A librosa or numpy upgrade that changed the mel spectrogram would show here, not as a
    mysterious drift in the tags. The stored patches are float16: about 3e-3 resolution at 5."""
    names = [str(name) for name in reference["names"]]
    for signal_name, signal in reference_signals().items():
        cut = frontend.patches(frontend.log_mel(signal))
        for i, patch in enumerate(cut):
            stored = reference["patches"][names.index(f"{signal_name}/{i}")].astype(np.float32)
            assert np.abs(patch - stored).max() < 1e-2, signal_name


def test_a_clip_gets_50_tag_probabilities_and_a_200_d_embedding(model):
    """Probabilities and embedding are means over the clip's 3-s patches."""
    output = tagger.tag_clip(reference_signals()["chirp_and_noise"], model=model)
    assert output.tags.shape == (50,) and output.embedding.shape == (200,)
    assert output.tags.dtype == np.float32 and output.embedding.dtype == np.float32
    assert len(output.tag_names) == 50 and output.tag_names[:3] == ["guitar", "classical", "slow"]
    assert ((output.tags >= 0) & (output.tags <= 1)).all()
    _probabilities, embeddings = tagger.tag_patches(
        frontend.patches(frontend.log_mel(reference_signals()["chirp_and_noise"])), model=model
    )
    np.testing.assert_allclose(output.embedding, embeddings.mean(axis=0), atol=1e-6)


def test_a_thirty_second_clip_is_cut_into_ten_patches_and_its_last_frames_dropped():
    mel = frontend.log_mel(np.zeros(30 * SR, dtype=np.float32))
    assert mel.shape == (1876, 96)
    assert frontend.patches(mel).shape == (10, 187, 96)


def test_a_clip_shorter_than_one_patch_is_repeated_to_fill_it(model):
    """musicnn's extractor fails on clips under 3 s; its training repeated them, and so does the port."""
    one_second = reference_signals()["sine_440hz"][:SR]
    mel = frontend.log_mel(one_second)
    cut = frontend.patches(mel)
    assert cut.shape == (1, 187, 96)
    np.testing.assert_array_equal(cut[0, mel.shape[0] : 2 * mel.shape[0]], mel)
    assert np.isfinite(tagger.tag_clip(one_second, model=model).tags).all()


def test_a_sine_tone_gives_finite_outputs_and_sounds_like_a_flute(model):
    output = tagger.tag_clip(0.5 * np.sin(2 * np.pi * 440.0 * np.arange(6 * SR) / SR), model=model)
    assert np.isfinite(output.tags).all() and np.isfinite(output.embedding).all()
    assert "flute" in [name for name, _ in output.top(3)]


def test_a_full_scale_noise_clip_gives_finite_outputs_and_sounds_loud(model):
    """musicnn's extractor takes the log of float16 mel power, which overflows to infinity here."""
    noise = np.random.default_rng(3).uniform(-1, 1, 6 * SR).astype(np.float32)
    power = librosa.feature.melspectrogram(y=noise, sr=SR, n_fft=512, hop_length=256, n_mels=96)
    with np.errstate(over="ignore"):
        assert np.isinf(np.log10(10_000 * power.astype(np.float16) + 1)).any()  # what musicnn's extractor does
    assert np.isfinite(frontend.log_mel(noise)).all()
    output = tagger.tag_clip(noise, model=model)
    assert np.isfinite(output.tags).all() and np.isfinite(output.embedding).all()
    assert "loud" in [name for name, _ in output.top(3)]


def test_a_signal_at_another_rate_is_resampled_to_16_khz(model):
    """Within 0.1: the resampler's anti-aliasing filter trims the noise near 8 kHz. Read as if it
    were at 16 kHz, the same signal is off by 0.23."""
    signal = reference_signals()["chirp_and_noise"]
    at_22k = librosa.resample(signal, orig_sr=SR, target_sr=22_050)
    direct = tagger.tag_clip(signal, model=model)
    resampled = tagger.tag_clip(at_22k, sr=22_050, model=model)
    assert np.abs(direct.tags - resampled.tags).max() < 0.1


def test_weights_that_do_not_fit_the_network_are_refused(tmp_path):
    with np.load(tagger.WEIGHTS) as stored:
        arrays = {name: stored[name] for name in stored.files if name != "classifier.bias"}
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(ValueError, match=r"classifier\.bias"):
        tagger.load_tagger("cpu", path=tmp_path / "broken.npz")


def test_the_cpu_is_the_default_without_a_gpu(model):
    assert tagger.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(model.parameters()).device.type == "cpu"
    assert not model.training


@pytest.mark.skipif(not (REALMUSIC / "catalog.csv").is_file(), reason="../shared/realmusic is not here")
def test_real_clips_get_plausible_top_tags(model):
    """Orchestral soundtracks rank classical instruments high; electronic ones, techno and electronic.
    The first three patches (9 s) of two clips of each, to keep the test short."""
    rows = list(csv.DictReader((REALMUSIC / "catalog.csv").open()))
    expected = {"orchestral": {"classical", "strings", "violin", "cello"}, "electronic-scifi": {"techno", "electronic", "synth"}}
    for style, plausible in expected.items():
        for row in [row for row in rows if row["style"] == style][:2]:
            signal = frontend.load_signal(REALMUSIC / row["path"], max_seconds=9.5)
            top = {name for name, _ in tagger.tag_clip(signal, model=model).top(5)}
            assert top & plausible, (row["path"], top)
