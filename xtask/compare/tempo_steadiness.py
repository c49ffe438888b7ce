"""How steady the live tempo readout is: octave jumps between successive readings.

Streams each recording through `moodscape analyze` (the live path: default 4 s window, a reading
every 0.5 s) and counts successive readings more than 1.8x apart, as a user watching the editor's
tempo readout would see them flip. Needs only the Python standard library.

Run:
  cargo build --profile ci --bin moodscape
  python3 xtask/compare/tempo_steadiness.py --bin target/ci/moodscape \
      /usr/share/games/wesnoth/1.16/data/core/music/{battle,battle-epic,sad,frantic,knolls,journeys_end}.ogg
"""
import argparse
import json
import os
import statistics
import subprocess


def readings(binary, path):
    out = subprocess.run([binary, "analyze", path], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [r["tempo_bpm"] for r in rows if r.get("tempo_bpm")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/ci/moodscape")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    print("| recording | readings | median BPM | octave jumps between successive readings |")
    print("|---|---|---|---|")
    total = jumps_total = 0
    for path in args.files:
        tempi = readings(args.bin, path)
        jumps = sum(1 for a, b in zip(tempi, tempi[1:]) if max(a, b) / min(a, b) > 1.8)
        pairs = max(1, len(tempi) - 1)
        total += pairs
        jumps_total += jumps
        median = statistics.median(tempi) if tempi else 0.0
        print(f"| {os.path.basename(path)} | {len(tempi)} | {median:.1f} | {jumps} ({100 * jumps / pairs:.1f} %) |")
    print(f"\nall: {jumps_total} of {total} successive pairs ({100 * jumps_total / max(1, total):.1f} %)")


if __name__ == "__main__":
    main()
