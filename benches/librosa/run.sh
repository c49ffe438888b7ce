#!/usr/bin/env bash
# Runs a librosa script from this folder in its own virtualenv (created on first use under
# target/librosa-venv), pinned to one thread so it compares with the single-threaded engine.
#   benches/librosa/run.sh features.py AUDIO.wav       -> timing of the equivalent feature set
#   benches/librosa/run.sh compare.py LIST.txt         -> tempo and key of each listed file
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${LIBROSA_VENV:-$root/target/librosa-venv}"
if ! "$venv/bin/python" -c "import librosa, soundfile, scipy" 2>/dev/null; then
    echo "setting up $venv (pip install librosa)..." >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
    VECLIB_MAXIMUM_THREADS=1 NUMEXPR_NUM_THREADS=1
script="$1"
shift
exec "$venv/bin/python" "$here/$script" "$@"
