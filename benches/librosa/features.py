"""librosa computing the engine's feature set on one file, timed, single-threaded.

Same framing as the Rust engine: resample to 22 050 Hz mono, 2048-point STFT, hop 512, then a
10 s window summarised every 0.5 s (mean and deviation of frame features, tempo and key per
window). Prints one JSON object: {"cold_seconds", "warm_seconds", "audio_seconds", ...}.
librosa has no roughness measure, so that single feature is left out on this side.
"""
import json
import sys
import time

import numpy as np
import scipy.signal
import soundfile as sf
import librosa

SR = 22050
N_FFT = 2048
HOP = 512
WINDOW_S = 10.0
UPDATE_S = 0.5

MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_of(chroma_mean):
    """Krumhansl-Schmuckler on a mean chroma: (tonic, 'major'|'minor', mode strength)."""
    best = {}
    for mode, profile in (("major", MAJOR), ("minor", MINOR)):
        scores = [np.corrcoef(np.roll(chroma_mean, -t), profile)[0, 1] for t in range(12)]
        scores = np.nan_to_num(scores)
        best[mode] = (int(np.argmax(scores)), float(np.max(scores)))
    mode = "major" if best["major"][1] >= best["minor"][1] else "minor"
    return best[mode][0], mode, best["major"][1] - best["minor"][1]


def k_weighting(sr):
    """BS.1770 K-weighting as two biquads for any rate (libebur128's design)."""
    f0, g, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sr)
    vh = 10 ** (g / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    b1 = np.array([(vh + vb * k / q + k * k), 2 * (k * k - vh), (vh - vb * k / q + k * k)]) / a0
    a1 = np.array([1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    b2 = np.array([1.0, -2.0, 1.0])
    a2 = np.array([1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return (b1, a1), (b2, a2)


def analyse(path):
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    y = librosa.resample(audio.mean(axis=1), orig_sr=sr, target_sr=SR)
    # Frame-level features.
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = S ** 2
    rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0]
    centroid = librosa.feature.spectral_centroid(S=S, sr=SR)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=S, sr=SR)[0]
    rolloff = librosa.feature.spectral_rolloff(S=S, sr=SR)[0]
    flatness = librosa.feature.spectral_flatness(S=S)[0]
    contrast = librosa.feature.spectral_contrast(S=S, sr=SR)
    mel = librosa.feature.melspectrogram(S=power, sr=SR, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)
    chroma = librosa.feature.chroma_stft(S=power, sr=SR)
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=SR)
    f0 = librosa.yin(y, fmin=60, fmax=1000, sr=SR, frame_length=N_FFT, hop_length=2 * HOP)
    tonnetz = librosa.feature.tonnetz(chroma=chroma, sr=SR)
    (b1, a1), (b2, a2) = k_weighting(SR)
    kw = scipy.signal.lfilter(b2, a2, scipy.signal.lfilter(b1, a1, y))
    frames = np.vstack([rms, zcr, centroid, bandwidth, rolloff, flatness, onset[: len(rms)],
                        contrast, mfcc, chroma])
    n = frames.shape[1]
    fps = SR / HOP
    win = int(round(WINDOW_S * fps))
    summaries = []
    for end_s in np.arange(UPDATE_S, len(y) / SR + 1e-9, UPDATE_S):
        end = min(n, int(end_s * fps))
        start = max(0, end - win)
        if end - start < 2:
            continue
        block = frames[:, start:end]
        stats = np.concatenate([block.mean(axis=1), block.std(axis=1)])
        env = onset[start:end]
        tempo = float(librosa.feature.tempo(onset_envelope=env, sr=SR, hop_length=HOP)[0]) if len(env) > 128 else 0.0
        tonic, mode, strength = key_of(chroma[:, start:end].mean(axis=1))
        hcdf = np.linalg.norm(np.diff(tonnetz[:, start:end], axis=1), axis=0).mean()
        pitch = f0[start // 2:end // 2]
        seg = kw[int(max(0, end_s - WINDOW_S) * SR):int(end_s * SR)]
        lufs = -0.691 + 10 * np.log10(2 * np.mean(seg ** 2) + 1e-12)
        summaries.append((end_s, tempo, tonic, mode, strength, lufs, hcdf, np.median(pitch), stats))
    return summaries, len(y) / SR


def main():
    path = sys.argv[1]
    # CPU time as well as wall time: the machine may be shared, and CPU time is what the
    # Rust side reports too (both are single-threaded).
    t0, c0 = time.perf_counter(), time.process_time()
    summaries, seconds = analyse(path)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    warm, warm_cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        analyse(path)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
    last = summaries[-1]
    print(json.dumps({
        "librosa": librosa.__version__,
        "audio_seconds": seconds,
        "cold_seconds": cold,
        "warm_seconds": float(np.median(warm)),
        "cold_cpu_seconds": cold_cpu,
        "warm_cpu_seconds": float(np.median(warm_cpu)),
        "updates": len(summaries),
        "last_tempo_bpm": last[1],
        "last_key": int(last[2]),
        "last_mode": last[3],
        "last_loudness_lufs": float(last[5]),
    }))


if __name__ == "__main__":
    main()
