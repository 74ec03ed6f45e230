#!/usr/bin/env python3
"""Score Presidio's and Sotto's predictions with the shared score.py and print one table.

Usage: compare.py --gold G --score-py S --out-dir D --presidio-meta M
                  [--sotto-pred P --sotto-seconds T] [--sotto-note TEXT]

score.py is called (python3 score.py GOLD PRED --json), never copied. Writes D/table.md and
D/scores.json and prints the table. Exit status 0 whatever the verdict; the verdict lines say
whether Sotto is ahead on recall and precision in every language and >= 100x faster.
"""

import argparse
import json
import os
import subprocess
import sys

LANGS = ["da", "sv", "nb", "fi", "et", "de", "en"]


def run_score(score_py, gold, pred):
    p = subprocess.run([sys.executable, score_py, gold, pred, "--json"],
                       check=True, capture_output=True, text=True)
    return json.loads(p.stdout)


def pick(res, lang):
    r = res["all"] if lang == "all" else res["by_lang"].get(lang, {}).get("all")
    return r or {}


def f(v):
    return "-" if v is None else "%.3f" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", required=True)
    ap.add_argument("--score-py", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--presidio-meta", required=True)
    ap.add_argument("--presidio-pred")
    ap.add_argument("--sotto-pred")
    ap.add_argument("--sotto-seconds", type=float)
    ap.add_argument("--sotto-startup-seconds", type=float)
    ap.add_argument("--sotto-x20-seconds", type=float)
    ap.add_argument("--sotto-note", default="")
    a = ap.parse_args()

    meta = json.load(open(a.presidio_meta))
    pres_pred = a.presidio_pred or os.path.join(a.out_dir, "presidio_pred.jsonl")
    pres = run_score(a.score_py, a.gold, pres_pred)
    sotto = None
    if a.sotto_pred and os.path.exists(a.sotto_pred) and os.path.getsize(a.sotto_pred) > 0:
        sotto = run_score(a.score_py, a.gold, a.sotto_pred)

    lines = []
    w = lines.append
    w("| lang | gold | Presidio recall | Presidio prec | Presidio leak | Sotto recall | Sotto prec | Sotto leak |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    verdict_fail = []
    present = [l for l in LANGS if l in pres["by_lang"]] + [
        l for l in pres["by_lang"] if l not in LANGS]
    for lang in present + ["all"]:
        p = pick(pres, lang)
        s = pick(sotto, lang) if sotto else {}
        name = "**all**" if lang == "all" else lang
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, p.get("gold", "-"), f(p.get("recall")), f(p.get("precision")), f(p.get("leak")),
            f(s.get("recall")), f(s.get("precision")), f(s.get("leak"))))
        if sotto:
            for m in ("recall", "precision"):
                sv, pv = s.get(m), p.get(m)
                if sv is None or (pv is not None and sv <= pv):
                    verdict_fail.append("%s %s" % (lang, m))

    n = meta["lines"]
    p_lps = meta["lines_per_s"]
    s_lps = (n / a.sotto_seconds) if (sotto and a.sotto_seconds) else None
    ratio = (s_lps / p_lps) if s_lps else None
    w("")
    w("| one core (`taskset -c 0`) | lines | seconds | lines/s |")
    w("|---|---:|---:|---:|")
    w("| Presidio (analyze() only, model load excluded) | %d | %.2f | %.1f |" % (
        n, meta["analyze_seconds"], p_lps))
    if s_lps:
        w("| Sotto (whole `sotto redact` process, startup included) | %d | %.3f | %.0f |" % (
            n, a.sotto_seconds, s_lps))
        w("| **speed ratio Sotto / Presidio** | | | **%.0f×** |" % ratio)
        if a.sotto_startup_seconds:
            w("| (for information) Sotto on empty input: startup and exit alone | 0 | %.3f | |"
              % a.sotto_startup_seconds)
        if a.sotto_x20_seconds:
            w("| (for information) Sotto on the corpus repeated 20× (sustained) | %d | %.3f | %.0f |" % (
                20 * n, a.sotto_x20_seconds, 20 * n / a.sotto_x20_seconds))
    else:
        w("| Sotto | - | - | - (%s) |" % (a.sotto_note or "no predictions"))
    hp, hs = pres["hard_negatives"], (sotto or {}).get("hard_negatives")
    w("")
    w("Hard-negative lines with a false positive: Presidio %d / %d%s." % (
        hp["lines_with_fp"], hp["lines"],
        ("; Sotto %d / %d" % (hs["lines_with_fp"], hs["lines"])) if hs else ""))
    w("Presidio: variant `%s`, score threshold %.2f (best micro F2 %.3f on the dev set), model %s "
      "(PyPI package %s), presidio-analyzer %s, spaCy %s." % (
          meta["variant"], meta["threshold"], meta["dev_f2"], meta["model"], meta["model_package"],
          meta["presidio_analyzer"], meta["spacy"]))
    if sotto:
        ok_q = not verdict_fail
        ok_s = ratio is not None and ratio >= 100
        w("")
        w("Verdict: Sotto ahead on recall and precision in every language: %s%s; "
          "Sotto >= 100x faster on one core: %s." % (
              "YES" if ok_q else "NO", "" if ok_q else " (not ahead: " + ", ".join(verdict_fail) + ")",
              "YES" if ok_s else "NO"))
    if a.sotto_note:
        w("")
        w("Note: " + a.sotto_note)

    table = "\n".join(lines) + "\n"
    with open(os.path.join(a.out_dir, "table.md"), "w") as fh:
        fh.write(table)
    with open(os.path.join(a.out_dir, "scores.json"), "w") as fh:
        json.dump({"presidio": pres, "sotto": sotto, "presidio_meta": {k: v for k, v in meta.items() if k != "sweep"},
                   "sotto_seconds": a.sotto_seconds, "sotto_startup_seconds": a.sotto_startup_seconds,
                   "sotto_x20_seconds": a.sotto_x20_seconds,
                   "sotto_lines_per_s": s_lps, "speed_ratio": ratio},
                  fh, indent=1)
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
