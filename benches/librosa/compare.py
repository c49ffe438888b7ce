"""librosa's tempo and key for each WAV listed in a file (one path per line).

Tempo: librosa.feature.tempo on the default onset envelope (prior 120 BPM) over the whole excerpt.
Only the first 30 s of each file are read.
Key: Krumhansl-Schmuckler on the mean of librosa.feature.chroma_cqt (librosa's recommended
chroma for key work). Prints one JSON object per file: {"path", "tempo_bpm", "key", "mode"}.
"""
import json
import sys

import numpy as np
import librosa

from features import key_of

for line in open(sys.argv[1]):
    path = line.strip()
    if not path:
        continue
    y, sr = librosa.load(path, sr=22050, mono=True, duration=30.0)
    tempo = float(librosa.feature.tempo(y=y, sr=sr)[0])
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr)
    tonic, mode, _ = key_of(chroma.mean(axis=1))
    print(json.dumps({"path": path, "tempo_bpm": tempo, "key": tonic, "mode": mode}), flush=True)
