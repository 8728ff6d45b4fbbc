"""One-off conversion of musicnn 0.1.0's taggers (TF1 checkpoints) to the PyTorch port.

Run once per model, with a throw-away environment's Python that has TensorFlow (never the project's):

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu numpy librosa==0.11.0 soundfile
    .venv/bin/pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    /tmp/tfenv/bin/python -m recommender.cnn.convert_musicnn /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl
    /tmp/tfenv/bin/python -m recommender.cnn.convert_musicnn --model MSD_musicnn /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

--model picks the checkpoint: MTT_musicnn (MagnaTagATune, the default) or MSD_musicnn (Million
Song Dataset). Both are musicnn's `build_musicnn` with the same sizes (a 200-unit penultimate
layer, 50 outputs) and the same graph node names; only the weights and the tag vocabulary differ.
Each writes recommender/cnn/weights/musicnn_{mtt,msd}.npz (float32 arrays under the PyTorch
module's state-dict names, already in PyTorch's layout, plus the 50 tag names) and
tests/recommender/data/musicnn_reference.npz or musicnn_msd_reference.npz: a few input patches
and what the original TensorFlow graph outputs for them, which tests/recommender/test_tagger.py
compares the port with. A file whose arrays would come out equal is left as it is (a rewrite would
only change the zip's timestamps).

The original network runs here without musicnn's Python code (TF 2 has no tf.compat.v1.layers
any more) and without import_meta_graph (it fails on the stale _output_shapes of a 2019 graph):
the training MetaGraphDef is cut down to the forward sub-graph, each variable becomes a constant
holding its checkpoint value, and the result is imported and fed like musicnn's extractor does.
"""
from __future__ import annotations

import argparse
import csv
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from recommender.cnn import frontend  # numpy and librosa only

ROOT = Path(__file__).resolve().parents[2]

WEIGHTS_FOLDER = ROOT / "recommender" / "cnn" / "weights"
REFERENCE_FOLDER = ROOT / "tests" / "recommender" / "data"
REALMUSIC = ROOT.parent / "shared" / "realmusic"

# musicnn/configuration.py, MTT_LABELS: the order of the network's 50 outputs.
MTT_LABELS = [
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop",
    "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
]
# musicnn/configuration.py, MSD_LABELS: the same for the Million Song Dataset model (last.fm tags,
# spelt and capitalised as there).
MSD_LABELS = [
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock", "jazz",
    "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s",
    "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy",
    "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
]

# The wheel's checkpoint folder (musicnn/<model>/) -> its labels, weights file and reference file.
MODELS = {
    "MTT_musicnn": (MTT_LABELS, WEIGHTS_FOLDER / "musicnn_mtt.npz", REFERENCE_FOLDER / "musicnn_reference.npz"),
    "MSD_musicnn": (MSD_LABELS, WEIGHTS_FOLDER / "musicnn_msd.npz", REFERENCE_FOLDER / "musicnn_msd_reference.npz"),
}

# The same in both models' meta graphs (build_musicnn under the "model" scope).
INPUT_NODE = "model/Placeholder"  # patches, (batch, 187, 96)
IS_TRAINING_NODE = "model/Placeholder_2"
PROBABILITIES_NODE = "model/Sigmoid"
PENULTIMATE_NODE = "model/batch_normalization_10/batchnorm/add_1"  # batch norm after the 200-unit dense layer

# TF layer names, in the order models.build_musicnn creates them, to the port's module names.
CONVOLUTIONS = {
    "conv2d": ("timbral.0", "batch_normalization_1"),  # 7 x 38 (0.4 of 96 mel bands), 204 filters
    "conv2d_1": ("timbral.1", "batch_normalization_2"),  # 7 x 67 (0.7 of 96 mel bands), 204 filters
    "conv2d_2": ("temporal.0", "batch_normalization_3"),  # 128 x 1, 51 filters
    "conv2d_3": ("temporal.1", "batch_normalization_4"),  # 64 x 1
    "conv2d_4": ("temporal.2", "batch_normalization_5"),  # 32 x 1
    "conv2d_5": ("midend.0", "batch_normalization_6"),  # 7 x 561 over the front end's maps, 64 filters
    "conv2d_6": ("midend.1", "batch_normalization_7"),  # 7 x 64
    "conv2d_7": ("midend.2", "batch_normalization_8"),  # 7 x 64
}
NORMS = {"batch_normalization": "input_norm", "batch_normalization_9": "pool_norm", "batch_normalization_10": "dense_norm"}
DENSES = {"dense": "dense", "dense_1": "classifier"}


def reference_signals() -> dict[str, np.ndarray]:
    """Deterministic 16 kHz test signals: what the stored reference patches are cut from."""
    sr = frontend.SAMPLE_RATE
    two_patches = 2 * frontend.PATCH_FRAMES * frontend.HOP_LENGTH
    t = np.arange(two_patches) / sr
    # Exponential sweep 100 Hz -> 6 kHz over the two patches, over quiet noise.
    f0, f1, duration = 100.0, 6000.0, two_patches / sr
    rate = np.log(f1 / f0) / duration
    chirp = 0.3 * np.sin(2 * np.pi * f0 * (np.exp(rate * t) - 1) / rate)
    noise = 0.05 * np.random.default_rng(0).standard_normal(two_patches)
    one_patch = t[: frontend.PATCH_FRAMES * frontend.HOP_LENGTH]
    return {
        "chirp_and_noise": (chirp + noise).astype(np.float32),
        "sine_440hz": (0.5 * np.sin(2 * np.pi * 440.0 * one_patch)).astype(np.float32),
        # Full-scale noise: musicnn's float16 log overflows to infinity on it.
        "full_scale_noise": np.random.default_rng(1).uniform(-1, 1, one_patch.size).astype(np.float32),
    }


def reference_patches() -> tuple[list[str], np.ndarray]:
    """Names and (n, 187, 96) float16 patches: the synthetic signals, and one real orchestral clip when
    ../shared/realmusic is here. Stored in float16 to keep the test data small; the reference outputs
    are computed from the float16 values, so the comparison is exact in its inputs."""
    names, chunks = [], []
    for name, signal in reference_signals().items():
        cut = frontend.patches(frontend.log_mel(signal))
        names += [f"{name}/{i}" for i in range(len(cut))]
        chunks.append(cut)
    catalog = REALMUSIC / "catalog.csv"
    if catalog.is_file():
        rows = [row for row in csv.DictReader(catalog.open()) if row["style"] == "orchestral"]
        if rows:
            row = rows[0]
            cut = frontend.patches(frontend.log_mel(frontend.load_signal(REALMUSIC / row["path"])))
            names.append(f"realmusic:{row['path']}/2")
            chunks.append(cut[2:3])
    return names, np.concatenate(chunks).astype(np.float16)


def convert_weights(reader) -> dict[str, np.ndarray]:
    """Checkpoint arrays in TF's layout (kernels height x width x in x out) to the port's state dict."""
    out: dict[str, np.ndarray] = {}

    def norm(tf_name: str, torch_name: str) -> None:
        out[f"{torch_name}.weight"] = reader.get_tensor(f"{tf_name}/gamma")
        out[f"{torch_name}.bias"] = reader.get_tensor(f"{tf_name}/beta")
        out[f"{torch_name}.running_mean"] = reader.get_tensor(f"{tf_name}/moving_mean")
        out[f"{torch_name}.running_var"] = reader.get_tensor(f"{tf_name}/moving_variance")

    for tf_conv, (torch_block, tf_norm) in CONVOLUTIONS.items():
        kernel = reader.get_tensor(f"{tf_conv}/kernel")  # (time, freq, in, out)
        if torch_block.startswith("midend"):
            # (7, channels, 1, 64): a 1-d convolution over time with the channels as its input.
            weight = kernel[:, :, 0, :].transpose(2, 1, 0)  # (out, channels, time)
        else:
            weight = kernel.transpose(3, 2, 0, 1)  # (out, in, time, freq): NCHW with H = time
        out[f"{torch_block}.conv.weight"] = weight
        out[f"{torch_block}.conv.bias"] = reader.get_tensor(f"{tf_conv}/bias")
        norm(tf_norm, f"{torch_block}.norm")
    for tf_name, torch_name in NORMS.items():
        norm(tf_name, torch_name)
    for tf_name, torch_name in DENSES.items():
        out[f"{torch_name}.weight"] = reader.get_tensor(f"{tf_name}/kernel").T  # (out, in)
        out[f"{torch_name}.bias"] = reader.get_tensor(f"{tf_name}/bias")
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in out.items()}


def forward_graph(tf, meta_path: Path, reader):
    """The training graph cut down to the forward pass, variables frozen to their checkpoint values."""
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString(meta_path.read_bytes())
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, [PROBABILITIES_NODE, PENULTIMATE_NODE])
    frozen = tf.compat.v1.GraphDef()
    for node in graph_def.node:
        if node.op in ("VariableV2", "Variable"):
            const = node_def_pb2.NodeDef(name=node.name, op="Const")
            const.attr["dtype"].type = node.attr["dtype"].type
            const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(reader.get_tensor(node.name)))
            node = const
        else:
            copy = node_def_pb2.NodeDef()
            copy.CopyFrom(node)
            node = copy
            if "_output_shapes" in node.attr:
                del node.attr["_output_shapes"]
        frozen.node.append(node)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen, name="")
    return graph


def save_unless_unchanged(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """np.savez_compressed, unless `path` already holds the same names and equal arrays (same dtype,
    shape and values): True when written."""
    if path.is_file():
        with np.load(path) as stored:
            if set(stored.files) == set(arrays) and all(
                stored[name].dtype == value.dtype and np.array_equal(stored[name], value) for name, value in arrays.items()
            ):
                return False
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl (pip download --no-deps musicnn==0.1.0)")
    parser.add_argument("--model", choices=sorted(MODELS), default="MTT_musicnn", help="the checkpoint to convert")
    args = parser.parse_args()
    labels, weights_path, reference_path = MODELS[args.model]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # plain kernels: a reference that does not depend on the CPU
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(args.wheel) as wheel:
            members = [m for m in wheel.namelist() if m.startswith(f"musicnn/{args.model}/")]
            wheel.extractall(folder, members)
        checkpoint = Path(folder) / "musicnn" / args.model
        reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint) + "/")
        weights = convert_weights(reader)
        graph = forward_graph(tf, checkpoint / ".meta", reader)
    if weights["classifier.bias"].shape != (len(labels),):
        raise ValueError(f"{args.model} has {weights['classifier.bias'].shape[0]} outputs, not {len(labels)} labels")

    names, stored = reference_patches()
    with tf.compat.v1.Session(graph=graph) as session:
        probabilities, penultimate = session.run(
            [f"{PROBABILITIES_NODE}:0", f"{PENULTIMATE_NODE}:0"],
            feed_dict={f"{INPUT_NODE}:0": stored.astype(np.float32), f"{IS_TRAINING_NODE}:0": False},
        )

    outputs = {
        weights_path: {"tag_names": np.array(labels), **weights},
        reference_path: {
            "names": np.array(names), "patches": stored,
            "probabilities": probabilities.astype(np.float32), "penultimate": penultimate.astype(np.float32),
        },
    }
    for path, arrays in outputs.items():
        verb = "written" if save_unless_unchanged(path, arrays) else "unchanged"
        print(f"{path.relative_to(ROOT)}: {verb} ({path.stat().st_size} bytes)")
    n_parameters = sum(v.size for v in weights.values())
    print(f"{args.model}: {len(weights)} arrays, {n_parameters} parameters, {len(names)} reference patches")
    for name, row in zip(names, probabilities):
        top = np.argsort(row)[::-1][:3]
        print(f"  {name}: " + ", ".join(f"{labels[i]} {row[i]:.2f}" for i in top))


if __name__ == "__main__":
    main()
