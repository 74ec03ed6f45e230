#!/usr/bin/env bash
# Throughput and memory of `sotto redact` on a large generated input (issue 3: >= 50 MB/s of
# text per core with every recogniser on). One core (taskset), user+system CPU time, peak RSS.
#
#   bench/redact/run.sh [MB]        (default 100; MB = 2^20 bytes of JSONL per file)
#   SOTTO_BIN=/path/to/other/sotto bench/redact/run.sh   (measure another build, e.g. an older one)
#
# Input: `examples/gen_jsonl` of sotto-detect (seeded call transcripts in seven languages, the
# mix documented in crates/sotto-detect/benches/gen/mod.rs). Three runs:
#   jsonl, lang given per line   — `sotto redact --format jsonl`
#   jsonl, no lang (auto)        — `sotto redact --format jsonl --lang auto`
#   text (the same texts), auto  — `sotto redact --format text --lang auto`
#   text, one file per language  — `sotto redact --format text --lang XX` on each language's
#                                  lines (what a contact centre that knows its language runs);
#                                  CPU time summed over the seven runs
# MB/s is reported of the transcript text (the `text` fields) and of the whole input.
set -euo pipefail
cd "$(dirname "$0")/../.."
MB="${1:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sotto-target}"
cargo build --release --locked --workspace --bin sotto --example gen_jsonl >&2
BIN="${SOTTO_BIN:-$CARGO_TARGET_DIR/release/sotto}"
GEN="$CARGO_TARGET_DIR/release/examples/gen_jsonl"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
"$GEN" "$MB" given > "$W/given.jsonl"
"$GEN" "$MB" nolang > "$W/nolang.jsonl"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
n = 0
with open(f"{w}/nolang.jsonl", encoding="utf-8") as f, open(f"{w}/texts.txt", "w", encoding="utf-8") as t:
    for line in f:
        x = json.loads(line)["text"]
        n += len(x.encode("utf-8"))
        t.write(x.replace("\n", " ") + "\n")
open(f"{w}/text_bytes", "w").write(str(n))
with open(f"{w}/given.jsonl", encoding="utf-8") as f:
    open(f"{w}/text_bytes_given", "w").write(str(sum(len(json.loads(l)["text"].encode("utf-8")) for l in f)))
per = {}
with open(f"{w}/given.jsonl", encoding="utf-8") as f:
    for line in f:
        x = json.loads(line)
        per.setdefault(x["lang"], []).append(x["text"].replace("\n", " "))
for lang, texts in per.items():
    with open(f"{w}/text.{lang}.txt", "w", encoding="utf-8") as t:
        t.write("\n".join(texts) + "\n")
PY
CPU="${BENCH_CPU:-1}"
printf '%-28s %10s %10s %8s %14s %14s %10s\n' "run" "input MB" "text MB" "CPU s" "text MB/s/core" "input MB/s" "peak RSS"
# one timed run: prints "user sys maxrss_kib"
timed() {
  local input="$1"; shift
  { /usr/bin/time -f '%U %S %M' taskset -c "$CPU" "$BIN" redact "$@" < "$input" > "$W/out" ; } 2>&1 | tail -1
}
report() {
  python3 - "$@" <<'PY'
import sys
name, inb, tb, u, s, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
cpu = u + s
mb = 1048576
print(f"{name:<28} {inb/mb:10.1f} {tb/mb:10.1f} {cpu:8.2f} {tb/mb/cpu:14.1f} {inb/mb/cpu:14.1f} {rss/1024:8.1f} MiB")
PY
}
run() {
  local name="$1" input="$2" text_bytes="$3"; shift 3
  local user sys rss
  read -r user sys rss <<<"$(timed "$input" "$@")"
  report "$name" "$(stat -c %s "$input")" "$text_bytes" "$user" "$sys" "$rss"
}
run "jsonl, lang given" "$W/given.jsonl" "$(cat "$W/text_bytes_given")" --format jsonl
run "jsonl, --lang auto" "$W/nolang.jsonl" "$(cat "$W/text_bytes")" --format jsonl --lang auto
run "text, --lang auto" "$W/texts.txt" "$(cat "$W/text_bytes")" --format text --lang auto
# text, one run per language with that language given; CPU summed, the largest RSS
tot_u=0; tot_s=0; max_rss=0; tot_b=0; tot_t=0
for f in "$W"/text.*.txt; do
  lang="${f##*/text.}"; lang="${lang%.txt}"
  read -r user sys rss <<<"$(timed "$f" --format text --lang "$lang")"
  tot_u=$(python3 -c "print($tot_u + $user)"); tot_s=$(python3 -c "print($tot_s + $sys)")
  max_rss=$(( rss > max_rss ? rss : max_rss )); tot_b=$(( tot_b + $(stat -c %s "$f") ))
  tot_t=$(( tot_t + $(stat -c %s "$f") - $(wc -l < "$f") ))
done
report "text, --lang per language" "$tot_b" "$tot_t" "$tot_u" "$tot_s" "$max_rss"
