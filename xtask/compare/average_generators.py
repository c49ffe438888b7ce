#!/usr/bin/env python3
"""Uniform average of several generator exports (safetensors) with the same tensors.

Usage: average_generators.py OUT.safetensors IN1.safetensors IN2.safetensors ...

Weight tensors are averaged. The `config.*` entries are copied: they must be equal wherever they
appear. An input may lack one (an export older than that option, which loads with the option's
default); the caller must know that default matches the others. Needs only numpy: safetensors is
an 8-byte header length, a JSON header and the raw little-endian data.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "U8": np.uint8,
          "I64": np.int64, "U32": np.uint32, "I32": np.int32}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], array.reshape(info["shape"]))
    return tensors


def write(path, tensors):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, array = tensors[name]
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, inputs = sys.argv[1], [read(p) for p in sys.argv[2:]]
    weights = {n for n in inputs[0] if not n.startswith("config.")}
    if any({n for n in t if not n.startswith("config.")} != weights for t in inputs):
        sys.exit("the inputs hold different weight tensors")
    averaged = {}
    for name in weights:
        dtype = inputs[0][name][0]
        mean = np.mean([t[name][1].astype(np.float64) for t in inputs], axis=0)
        averaged[name] = (dtype, mean.astype(DTYPES[dtype]))
    for name in {n for t in inputs for n in t if n.startswith("config.")}:
        present = [t[name] for t in inputs if name in t]
        if any(not np.array_equal(present[0][1], p[1]) for p in present):
            sys.exit(f"{name}: differs between inputs")
        averaged[name] = present[0]
    write(out, averaged)
    print(f"{out}: mean of {len(inputs)} exports, {len(averaged)} tensors")


if __name__ == "__main__":
    main()
