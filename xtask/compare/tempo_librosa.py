"""Tempo agreement between `moodscape analyze` and librosa on real recordings.

For each recording both sides see the same 30 s excerpt (from 15 s in when the file is long
enough, else from the start), mono at 22.05 kHz, written to a temporary WAV:
- moodscape: `moodscape analyze EXCERPT --window S --hop S` (one summary over the excerpt's
  whole S <= 30 s);
- librosa: `librosa.feature.tempo` (default onset envelope, 120 BPM prior) over the same samples.
Prints a table, the share agreeing within 4 %, and the share within 4 % of 2x or 1/2. With
--plots DIR, saves the onset-envelope autocorrelation of each disagreement with both tempi marked.

Run (venv with librosa 0.11, matplotlib; nothing from the recordings is written to the repo):
  python3 -m venv /work/venvs/tempo && /work/venvs/tempo/bin/pip install librosa==0.11.0 matplotlib
  cargo build --profile ci --bin moodscape
  /work/venvs/tempo/bin/python xtask/compare/tempo_librosa.py --bin target/ci/moodscape \
      70:/work/shared/data/music-4q/audio 30:/usr/share/games/wesnoth/1.16/data/core/music
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import librosa
import soundfile

SR = 22050
SECONDS = 30.0


def pick(directory, limit):
    files = []
    for root, _, names in os.walk(directory):
        files += [os.path.join(root, n) for n in names if n.endswith((".ogg", ".mp3", ".wav"))]
    files.sort()
    step = max(1, len(files) // limit)
    return files[::step][:limit]


def excerpt(path):
    duration = librosa.get_duration(path=path)
    offset = 15.0 if duration >= 15.0 + SECONDS else 0.0
    y, _ = librosa.load(path, sr=SR, mono=True, offset=offset, duration=SECONDS)
    return y


def moodscape_tempo(binary, wav, seconds):
    window = str(int(seconds))
    out = subprocess.run(
        [binary, "analyze", wav, "--window", window, "--hop", window],
        capture_output=True, text=True, check=True,
    ).stdout
    records = [json.loads(l) for l in out.splitlines() if l.strip()]
    records = [r for r in records if "tempo_bpm" in r]
    return (records[-1]["tempo_bpm"], records[-1]["tempo_confidence"]) if records else (0.0, 0.0)


def verdict(ours, theirs):
    if theirs <= 0 or ours <= 0:
        return "differ"
    ratio = ours / theirs
    if abs(ratio - 1) <= 0.04:
        return "agree"
    if any(abs(ratio / r - 1) <= 0.04 for r in (2.0, 0.5)):
        return "octave"
    return "differ"


def plot(y, ours, theirs, title, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    env = librosa.onset.onset_strength(y=y, sr=SR)
    fps = SR / 512
    acf = librosa.autocorrelate(env - env.mean(), max_size=int(4 * fps))
    acf /= acf[0]
    lags = np.arange(len(acf)) / fps
    plt.figure(figsize=(9, 3))
    plt.plot(lags, acf, lw=1)
    for bpm, colour, label in ((ours, "r", "moodscape"), (theirs, "g", "librosa")):
        if bpm > 0:
            plt.axvline(60 / bpm, color=colour, ls="--", label=f"{label} {bpm:.1f} BPM")
    plt.xlabel("lag (s)")
    plt.ylabel("onset ACF")
    plt.title(title)
    plt.legend()
    plt.tight_layout()
    plt.savefig(path, dpi=80)
    plt.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/ci/moodscape")
    parser.add_argument("--plots", default=None)
    parser.add_argument("--cache", default="target/compare-tempo-librosa.json",
                        help="librosa tempi by path, so reruns only rerun moodscape")
    parser.add_argument("sources", nargs="+", help="N:DIR, N recordings evenly spaced from DIR")
    args = parser.parse_args()
    jobs = []
    for source in args.sources:
        limit, directory = source.split(":", 1)
        jobs += pick(directory, int(limit))
    cache = json.load(open(args.cache)) if os.path.exists(args.cache) else {}
    counts = {"agree": 0, "octave": 0, "differ": 0}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, path in enumerate(jobs):
            y = excerpt(path)
            if len(y) < SR * 12:
                continue
            wav = os.path.join(tmp, "x.wav")
            soundfile.write(wav, np.pad(y, (0, SR)), SR, subtype="FLOAT")
            ours, clarity = moodscape_tempo(args.bin, wav, len(y) / SR)
            if path not in cache:
                cache[path] = float(librosa.feature.tempo(y=y, sr=SR)[0])
                os.makedirs(os.path.dirname(args.cache) or ".", exist_ok=True)
                json.dump(cache, open(args.cache, "w"))
            theirs = cache[path]
            v = verdict(ours, theirs)
            counts[v] += 1
            name = os.path.basename(path)
            rows.append((name, ours, clarity, theirs, v))
            print(f"| {name} | {ours:.1f} | {clarity:.2f} | {theirs:.1f} | {v} |", flush=True)
            if args.plots and v != "agree":
                os.makedirs(args.plots, exist_ok=True)
                plot(y, ours, theirs, name, os.path.join(args.plots, name + ".png"))
            print(f"[{n + 1}/{len(jobs)}]", file=sys.stderr, flush=True)
    total = max(1, sum(counts.values()))
    print(f"\nrecordings: {total}")
    print(f"agree within 4 %: {counts['agree']} ({100 * counts['agree'] / total:.0f} %)")
    print(f"within 4 % of 2x or 1/2: {counts['octave']} ({100 * counts['octave'] / total:.0f} %)")
    print(f"other: {counts['differ']} ({100 * counts['differ'] / total:.0f} %)")


if __name__ == "__main__":
    main()
