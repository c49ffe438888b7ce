#!/usr/bin/env python3
"""False alarms and sensitivity of the editor screenshot's block check, on many pictures.

`tests/editor_screenshot.rs` judges one screenshot. This script asks how its block proxy behaves
on pictures with no blocks at all, shown the way the editor shows them (256 px, stretched
bilinearly to 660 px, the 580 x 640 landscape area), and on the same pictures blended with their
own 11 px block version (the planted defect):

- generator renders over five moods x four seeds, one set per weights file given;
- 30 training photographs (no blocks by construction).

Two rules are counted: the share alone (>= 0.1, the check before 2026-12-03) and the share that
also stands out of the picture's own gradient spectrum (>= 1.25x its 90th percentile over
non-block periods of 2-16 texels, the check now). The proxy is re-implemented here with numpy;
keep it in step with the test.

Usage (numpy and Pillow; `target/ci/moodscape` built):
    python3 xtask/compare/block_proxy_false_alarms.py ../shared/data \
        models/landscape-gen.safetensors OTHER.safetensors ...
"""

import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SCALE = (660 / 256 * 0.98, 660 / 256 * 1.14)  # texel scale range, as texel_scale_range()
PERIODS = np.arange(2 * SCALE[0], 16 * SCALE[1], 0.05)
BLOCKS = (4, 8)


def window(texels):
    return (PERIODS >= SCALE[0] * texels) & (PERIODS <= SCALE[1] * texels)


BLOCK_PERIODS = window(4) | window(8)
BACKGROUND = ~np.any([window(b * h) for b in BLOCKS for h in (1 / 3, 1 / 2, 1, 2)], axis=0)


def shares(profile):
    phase = np.exp(2j * np.pi * np.outer(1 / PERIODS, np.arange(len(profile))))
    return np.abs(phase @ profile) / profile.sum()


def flags(grey):
    """(share-only rule, current rule) for one grey picture."""
    old = new = False
    for profile in (np.abs(np.diff(grey, axis=0)).sum(1), np.abs(np.diff(grey, axis=1)).sum(0)):
        s = shares(profile)
        share = s[BLOCK_PERIODS].max()
        old |= share >= 0.1
        new |= share >= 0.1 and share >= 1.25 * np.percentile(s[BACKGROUND], 90)
    return old, new


def on_screen(path):
    picture = Image.open(path).convert("RGB").resize((256, 256), Image.BILINEAR)
    picture = picture.resize((660, 660), Image.BILINEAR)
    return np.asarray(picture, dtype=np.float64)[40:620, 10:650].mean(2)


def blocky(grey, side=11):
    rows = np.arange(grey.shape[0]) // side * side
    columns = np.arange(grey.shape[1]) // side * side
    return grey[np.ix_(rows, columns)]


def main():
    data, weights = Path(sys.argv[1]), sys.argv[2:]
    groups = {}
    scratch = Path(tempfile.mkdtemp())
    for index, file in enumerate(weights):
        paths = []
        for valence, arousal in [(0.75, -0.75), (-0.75, 0.75), (0, 0), (0.75, 0.75), (-0.75, -0.75)]:
            for seed in range(4):
                out = scratch / f"w{index}-{valence}-{arousal}-{seed}.png"
                subprocess.run(
                    ["target/ci/moodscape", "render", "--valence", str(valence), "--arousal",
                     str(arousal), "--seed", str(seed), "--size", "256", "--weights", file,
                     "--out", str(out)],
                    check=True, capture_output=True)
                paths.append(out)
        groups[file] = paths
    photos = sorted((data / "landscapes" / "images").iterdir())
    groups["training photos"] = random.Random(2).sample(photos, 30)
    print("pictures | blend | share-only flags | current flags")
    for name, paths in groups.items():
        screens = [on_screen(p) for p in paths]
        for blend in (0.0, 0.15, 0.2):
            counted = np.array([flags((1 - blend) * g + blend * blocky(g)) for g in screens])
            print(f"{name} | {blend:.2f} | {counted[:, 0].sum()}/{len(screens)} | "
                  f"{counted[:, 1].sum()}/{len(screens)}")


if __name__ == "__main__":
    main()
