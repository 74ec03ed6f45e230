#!/usr/bin/env bash
# Side-by-side: Microsoft Presidio (best configuration, from PyPI) vs `sotto redact`.
#
#   bash bench/presidio/run.sh [CORPUS.jsonl]
#
# CORPUS defaults to the shared dev set (/work/shared/eval/dev.jsonl, or ../shared/eval/dev.jsonl
# beside the repo). Presidio's score threshold is always chosen on the dev set, whatever CORPUS is.
# Environment:
#   SOTTO_BIN        sotto binary (default: target/release/sotto, then $CARGO_TARGET_DIR/release/sotto,
#                    then /root/.cache/sotto-target/release/sotto; built with cargo if none exists)
#   SOTTO_NO_BUILD=1 never run cargo; a missing binary leaves the Sotto columns empty
#   SOTTO_EVAL_DIR   folder with score.py and dev.jsonl (default: the shared eval folder)
#   BENCH_CPU        the one core both engines are pinned to (default 0)
#   SOTTO_RUNS       how many timed `sotto redact` runs to take the median of (default 5)
# Writes bench/out/{presidio_pred,presidio_raw,sotto_pred}.jsonl, presidio_meta.json, scores.json, table.md
# (plus presidio_stderr.txt, sotto_stderr.txt).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$REPO/bench/out"
VENV="$REPO/bench/.venv"
CPU="${BENCH_CPU:-0}"
RUNS="${SOTTO_RUNS:-5}"
mkdir -p "$OUT"

# ---- locate the shared eval folder (score.py + dev.jsonl)
EVAL_DIR="${SOTTO_EVAL_DIR:-}"
if [ -z "$EVAL_DIR" ]; then
  for d in /work/shared/eval "$REPO/../shared/eval"; do
    if [ -f "$d/score.py" ]; then EVAL_DIR="$(cd "$d" && pwd)"; break; fi
  done
fi
[ -n "$EVAL_DIR" ] && [ -f "$EVAL_DIR/score.py" ] || { echo "run.sh: cannot find score.py (set SOTTO_EVAL_DIR)" >&2; exit 2; }
SCORE="$EVAL_DIR/score.py"
DEV="$EVAL_DIR/dev.jsonl"

CORPUS="${1:-$DEV}"
if [ ! -f "$CORPUS" ] && [ -f "$REPO/$CORPUS" ]; then CORPUS="$REPO/$CORPUS"; fi
[ -f "$CORPUS" ] || { echo "run.sh: corpus not found: $CORPUS" >&2; exit 2; }
CORPUS="$(cd "$(dirname "$CORPUS")" && pwd)/$(basename "$CORPUS")"
echo "corpus: $CORPUS"
echo "dev (threshold choice): $DEV"

# ---- throw-away venv with Presidio, spaCy and an English spaCy model, all from PyPI
REQ="$HERE/requirements.txt"
STAMP="$VENV/.bench-presidio-requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $(python3 --version)"
  python3 -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
  echo "installing $REQ into $VENV (PyPI; a few minutes the first time)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$STAMP"
else
  echo "reusing $VENV"
fi

# ---- Sotto binary
SOTTO="${SOTTO_BIN:-}"
if [ -z "$SOTTO" ]; then
  for c in "$REPO/target/release/sotto" ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release/sotto"} /root/.cache/sotto-target/release/sotto; do
    if [ -x "$c" ]; then SOTTO="$c"; break; fi
  done
fi
if [ -z "$SOTTO" ] && [ "${SOTTO_NO_BUILD:-0}" != 1 ]; then
  echo "no sotto binary found: cargo build --release -p sotto"
  if (cd "$REPO" && cargo build --release -p sotto); then
    SOTTO="${CARGO_TARGET_DIR:-$REPO/target}/release/sotto"
  fi
fi
SOTTO_NOTE=""
SOTTO_PRED="$OUT/sotto_pred.jsonl"
rm -f "$SOTTO_PRED"
SOTTO_SECONDS=""
SOTTO_STARTUP=""
SOTTO_X20=""
if [ -n "$SOTTO" ] && [ -x "$SOTTO" ]; then
  echo "sotto: $SOTTO ($("$SOTTO" --version 2>/dev/null || echo 'version unknown'))"
  times=()
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    if ! taskset -c "$CPU" "$SOTTO" redact --format jsonl < "$CORPUS" > "$SOTTO_PRED" 2> "$OUT/sotto_stderr.txt"; then
      SOTTO_NOTE="sotto redact exited non-zero (see bench/out/sotto_stderr.txt)"
    fi
    t1=$(date +%s%N)
    times+=($((t1 - t0)))
  done
  med_ns=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  SOTTO_SECONDS=$(awk -v ns="$med_ns" 'BEGIN { printf "%.6f", ns / 1e9 }')
  echo "sotto: median of $RUNS runs: ${SOTTO_SECONDS} s"
  # For information: startup alone (empty input) and a longer run (CORPUS repeated 20 times).
  med() {  # median wall seconds of $RUNS runs of sotto on file $1
    local ts=() a b
    for _ in $(seq "$RUNS"); do
      a=$(date +%s%N)
      taskset -c "$CPU" "$SOTTO" redact --format jsonl < "$1" > /dev/null 2>&1 || true
      b=$(date +%s%N)
      ts+=($((b - a)))
    done
    printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p" | awk '{ printf "%.6f", $1 / 1e9 }'
  }
  SOTTO_STARTUP=$(med /dev/null)
  for _ in $(seq 20); do cat "$CORPUS"; done > "$OUT/corpus_x20.jsonl"
  SOTTO_X20=$(med "$OUT/corpus_x20.jsonl")
  rm -f "$OUT/corpus_x20.jsonl"
  echo "sotto: empty input ${SOTTO_STARTUP} s; corpus x20 ${SOTTO_X20} s (medians of $RUNS)"
else
  SOTTO_NOTE="no sotto binary (set SOTTO_BIN or build: cargo build --release -p sotto)"
  echo "$SOTTO_NOTE" >&2
fi

# ---- Presidio: sweep on dev, timed run on CORPUS, one core, single-threaded maths
echo "presidio: analysing (one core: cpu $CPU)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
  PYTHONWARNINGS=ignore HF_HUB_OFFLINE=1 \
  taskset -c "$CPU" "$VENV/bin/python" "$HERE/presidio_run.py" \
    --corpus "$CORPUS" --dev "$DEV" --score-py "$SCORE" --out-dir "$OUT" 2> "$OUT/presidio_stderr.txt" \
  || { cat "$OUT/presidio_stderr.txt" >&2; exit 1; }
grep -E '^presidio' "$OUT/presidio_stderr.txt" || true

# ---- score both with score.py --json and print the table
echo
python3 "$HERE/compare.py" --gold "$CORPUS" --score-py "$SCORE" --out-dir "$OUT" \
  --presidio-meta "$OUT/presidio_meta.json" \
  ${SOTTO_SECONDS:+--sotto-pred "$SOTTO_PRED" --sotto-seconds "$SOTTO_SECONDS"} \
  ${SOTTO_STARTUP:+--sotto-startup-seconds "$SOTTO_STARTUP"} ${SOTTO_X20:+--sotto-x20-seconds "$SOTTO_X20"} \
  ${SOTTO_NOTE:+--sotto-note "$SOTTO_NOTE"}
echo
echo "written: $OUT/table.md (and predictions, scores.json, presidio_meta.json)"
