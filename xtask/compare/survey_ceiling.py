#!/usr/bin/env python3
"""How close a survey kit's pictures could come to their songs with a perfect generator.

The survey goal is a song-to-picture VA distance of at most 0.6 x the mismatched-pair distance.
The generator can only paint moods its training photographs have, so it conditions on a linear
stretch: picture VA = centre + half_range x asked VA (`ConditioningScale`, printed by
`moodscape train-landscape`). This script scores three pictures for every item of a kit made with
`--proxy-data` (plain Python, no packages):

- the pictures as the image labeller rated them (what `moodscape survey report` scores);
- a perfect generator on the stretched scale: each picture exactly at centre + half_range x the
  mood model's VA for its song;
- a perfect generator on the people's scale: each picture exactly at the mood model's VA.

Usage:
    python3 xtask/compare/survey_ceiling.py KIT_DIR --centre 0.277 -0.113 --half-range 0.426 0.239
"""

import argparse
import csv
import math
from pathlib import Path


def unit(value):
    """1-9 SAM rating to [-1, 1]."""
    return (float(value) - 5.0) / 4.0


def mean_distance(songs, pictures, matched):
    """Mean VA distance of matched pairs (item i with picture i) or of all mismatched pairs."""
    pairs = [(i, j) for i in range(len(songs)) for j in range(len(pictures)) if (i == j) == matched]
    return sum(math.dist(songs[i], pictures[j]) for i, j in pairs) / len(pairs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kit", type=Path)
    parser.add_argument("--centre", type=float, nargs=2, required=True)
    parser.add_argument("--half-range", type=float, nargs=2, required=True)
    args = parser.parse_args()

    items = list(csv.DictReader(open(args.kit / "items.csv")))
    ratings = {
        (row["rater"], row["code"]): (unit(row["valence"]), unit(row["arousal"]))
        for row in csv.DictReader(open(args.kit / "proxy-ratings.csv"))
    }
    songs = [ratings[("4q-mood-tags", item["song_code"])] for item in items]
    model = [(float(item["predicted_valence"]), float(item["predicted_arousal"])) for item in items]
    clamp = lambda x: max(-1.0, min(1.0, x))
    candidates = {
        "pictures as rated": [ratings[("image-labeller", item["image_code"])] for item in items],
        "perfect generator, stretched scale": [
            tuple(c + h * clamp(v) for c, h, v in zip(args.centre, args.half_range, va)) for va in model
        ],
        "perfect generator, people's scale": model,
    }
    print(f"{len(items)} items; goal: matched <= 0.6 x mismatched")
    print("| pictures | matched | mismatched | ratio |\n|---|---|---|---|")
    for name, pictures in candidates.items():
        matched = mean_distance(songs, pictures, True)
        mismatched = mean_distance(songs, pictures, False)
        print(f"| {name} | {matched:.3f} | {mismatched:.3f} | {matched / mismatched:.2f} |")


if __name__ == "__main__":
    main()
