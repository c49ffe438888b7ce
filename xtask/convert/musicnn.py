#!/usr/bin/env python3
"""Convert MSD-MusiCNN (the `musicnn` 0.1.0 wheel on PyPI) to `models/musicnn-msd.safetensors`,
and with `--fixture` write the reference outputs of the committed fixture recipes to
`tests/fixtures/musicnn/reference.json`.

Run from the repository root, in a throwaway venv (see models/musicnn-msd.md):

    python3 -m venv /work/venvs/musicnn
    /work/venvs/musicnn/bin/pip install --no-deps musicnn==0.1.0
    /work/venvs/musicnn/bin/pip install 'tensorflow-cpu==2.15.*' numpy librosa safetensors
    /work/venvs/musicnn/bin/python xtask/convert/musicnn.py --fixture

The fixture inputs are generated from recipes (an integer LCG plus sines), so the Rust test
rebuilds exactly the same inputs without committing any audio or spectrogram:
- `network_only`: one 187x96 log-mel patch made by formula, fed straight to the TF network;
- `audio`: 6 s of synthetic 16 kHz audio (two chords, noise bursts), run through the package's
  front end (librosa melspectrogram, reflect-padded as in musicnn's librosa era, fp16 cast,
  log10(10000 x + 1), non-overlapping 187-frame patches) and then the TF network.
The Rust mirrors of the recipes live in tests/musicnn_reference.rs; keep both in step.
"""

import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# This script is itself named musicnn.py: drop its folder from the path so that `import musicnn`
# finds the wheel, not this file.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

# The TF variable names in the wheel's checkpoint and the clear names the port uses.
# Kernels keep TF's HWIO layout: (time, width, in_channels, out_channels).
RENAMES = {
    "batch_normalization": "input_bn",
    "conv2d": "timbral_7x38.conv",
    "batch_normalization_1": "timbral_7x38.bn",
    "conv2d_1": "timbral_7x67.conv",
    "batch_normalization_2": "timbral_7x67.bn",
    "conv2d_2": "temporal_128.conv",
    "batch_normalization_3": "temporal_128.bn",
    "conv2d_3": "temporal_64.conv",
    "batch_normalization_4": "temporal_64.bn",
    "conv2d_4": "temporal_32.conv",
    "batch_normalization_5": "temporal_32.bn",
    "conv2d_5": "midend_1.conv",
    "batch_normalization_6": "midend_1.bn",
    "conv2d_6": "midend_2.conv",
    "batch_normalization_7": "midend_2.bn",
    "conv2d_7": "midend_3.conv",
    "batch_normalization_8": "midend_3.bn",
    "batch_normalization_9": "pool_bn",
    "dense": "penultimate.dense",
    "batch_normalization_10": "penultimate.bn",
    "dense_1": "tags.dense",
}
LEAVES = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "gamma",
    "beta": "beta",
    "moving_mean": "mean",
    "moving_variance": "var",
}

SR = 16000
N_FRAMES = 187
N_MELS = 96


def checkpoint_prefix():
    import musicnn

    # The wheel's `checkpoint` file points at the author's disk, so pass the prefix itself.
    return os.path.join(os.path.dirname(musicnn.__file__), "MSD_musicnn") + "/"


def convert(out_path):
    import tensorflow as tf
    from safetensors.numpy import save_file

    reader = tf.compat.v1.train.NewCheckpointReader(checkpoint_prefix())
    tensors = {}
    for name in sorted(reader.get_variable_to_shape_map()):
        if "Adam" in name or name.startswith("beta1_power") or name.startswith("beta2_power"):
            continue  # optimiser state, not part of the network
        layer, leaf = name.rsplit("/", 1)
        if layer not in RENAMES or leaf not in LEAVES:
            sys.exit(f"unexpected checkpoint variable {name}")
        tensors[f"{RENAMES[layer]}.{LEAVES[leaf]}"] = np.ascontiguousarray(
            reader.get_tensor(name).astype(np.float32)
        )
    total = sum(t.size for t in tensors.values())
    save_file(tensors, out_path, metadata={"source": "musicnn 0.1.0 wheel, MSD_musicnn"})
    digest = hashlib.sha256(open(out_path, "rb").read()).hexdigest()
    print(f"wrote {out_path}: {len(tensors)} tensors, {total} weights, sha256 {digest}")


class Lcg:
    """Numerical Recipes' 32-bit LCG: bit-exact in Python and Rust."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def uniform(self):
        self.state = (self.state * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.state / 4294967296.0


def network_only_patch():
    """One 187x96 log-mel-like patch (time first), values in about [0, 3.5]."""
    lcg = Lcg(12345)
    patch = np.zeros((N_FRAMES, N_MELS), dtype=np.float64)
    for t in range(N_FRAMES):
        for b in range(N_MELS):
            u = lcg.uniform()
            burst = 1.0 if (t // 16) % 2 == 0 else 0.3
            v = (
                1.2
                + 0.8 * math.sin(2.0 * math.pi * t / 23.0 + b / 7.0) * math.cos(b / 11.0)
                + 0.9 * math.exp(-(((b - 30.0) / 12.0) ** 2)) * burst
                + 0.4 * u
            )
            patch[t, b] = max(v, 0.0)
    return patch.astype(np.float32)


def fixture_audio():
    """6 s at 16 kHz: an A minor triad (0-3 s), a brighter C major triad (3-6 s), and decaying
    white-noise bursts every 0.375 s."""
    lcg = Lcg(2024)
    n = 6 * SR
    out = np.zeros(n, dtype=np.float64)
    minor = (220.0, 261.63, 329.63)
    major = (261.63, 329.63, 392.0)
    for i in range(n):
        t = i / SR
        x = 0.0
        if t < 3.0:
            for f in minor:
                for k, a in ((1, 1.0), (2, 0.5), (3, 0.25)):
                    x += 0.08 * a * math.sin(2.0 * math.pi * f * k * t)
        else:
            for f in major:
                for k in range(1, 7):
                    x += 0.06 / k * math.sin(2.0 * math.pi * f * k * t)
        noise = 2.0 * lcg.uniform() - 1.0
        x += 0.3 * math.exp(-(t % 0.375) / 0.03) * noise
        out[i] = x
    return out.astype(np.float32)


def reference_log_mel(audio):
    """musicnn/extractor.py's batch_data front end on an in-memory 16 kHz clip. librosa >= 0.10
    pads with zeros by default; musicnn was made with librosa's old reflect default."""
    import librosa

    rep = librosa.feature.melspectrogram(
        y=audio, sr=SR, hop_length=256, n_fft=512, n_mels=N_MELS, pad_mode="reflect"
    ).T
    rep = rep.astype(np.float16)
    rep = np.log10(10000 * rep + 1)
    patches = [
        rep[start : start + N_FRAMES]
        for start in range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    ]
    return np.stack(patches).astype(np.float32), rep.astype(np.float32)


def run_network(patches):
    """The package's own model code (musicnn.models) restored from the wheel's checkpoint."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    from musicnn import models

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, *_, penultimate = models.define_model(x, is_training, "MSD_musicnn", 50)
        taggram = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, checkpoint_prefix())
        tags, emb = sess.run([taggram, penultimate], feed_dict={x: patches, is_training: False})
    return tags, emb


def time_tensorflow(runs=15):
    """TF's CPU time per patch on one thread (intra/inter-op pools of 1), median of `runs`, for
    the card's speed comparison with the port."""
    import time

    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    from musicnn import models

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, *_, penultimate = models.define_model(x, is_training, "MSD_musicnn", 50)
        taggram = tf.nn.sigmoid(y)
    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=1, inter_op_parallelism_threads=1
    )
    patch = network_only_patch()[None]
    with tf.compat.v1.Session(config=config) as sess:
        tf.compat.v1.train.Saver().restore(sess, checkpoint_prefix())
        feed = {x: patch, is_training: False}
        sess.run([taggram, penultimate], feed_dict=feed)
        cpu = []
        for _ in range(runs):
            start = time.process_time()
            sess.run([taggram, penultimate], feed_dict=feed)
            cpu.append(time.process_time() - start)
    cpu.sort()
    print(f"TensorFlow, one thread: {1e3 * cpu[len(cpu) // 2]:.1f} ms CPU per patch "
          f"(median of {runs}; min {1e3 * cpu[0]:.1f})")


def rounded(array):
    return [[float(f"{v:.7g}") for v in row] for row in np.asarray(array)]


def fixture(out_path):
    net_patch = network_only_patch()
    net_tags, net_emb = run_network(net_patch[None])

    audio = fixture_audio()
    patches, rep = reference_log_mel(audio)
    audio_tags, audio_emb = run_network(patches)

    reference = {
        "about": "MSD-MusiCNN reference outputs (musicnn 0.1.0 wheel, TensorFlow "
        "CPU) for the recipes in xtask/convert/musicnn.py; checked by "
        "tests/musicnn_reference.rs",
        "network_only": {
            "patches": 1,
            "input_mean": float(net_patch.mean()),
            "taggram": rounded(net_tags),
            "embedding": rounded(net_emb),
        },
        "audio": {
            "sample_rate": SR,
            "samples": int(audio.size),
            "patches": int(patches.shape[0]),
            "frames": int(rep.shape[0]),
            "log_mel_frame_means": [float(f"{v:.7g}") for v in rep.mean(axis=1)],
            "log_mel_band_means": [float(f"{v:.7g}") for v in rep.mean(axis=0)],
            "taggram": rounded(audio_tags),
            "embedding": rounded(audio_emb),
        },
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="models/musicnn-msd.safetensors")
    parser.add_argument("--fixture", action="store_true", help="also write the fixture reference")
    parser.add_argument("--fixture-out", default="tests/fixtures/musicnn/reference.json")
    parser.add_argument("--time", action="store_true", help="time TF per patch on one thread")
    args = parser.parse_args()
    convert(args.out)
    if args.fixture:
        fixture(args.fixture_out)
    if args.time:
        time_tensorflow()


if __name__ == "__main__":
    main()
