#!/usr/bin/env python3
"""Builds heldout.jsonl from heldout.src: `lang|text with [[kind|value]] markers`.
Offsets are code points, computed here, never by hand."""
import json, re, sys, os
CAT = {"payment_card":"pci","card_cvc":"pci","card_expiry":"pci"}
SPECIAL = {"health","religion","political_opinion","ethnic_origin","trade_union","sexual_orientation","genetic","biometric"}
here = os.path.dirname(os.path.abspath(__file__))
out = []
for n, line in enumerate(open(os.path.join(here, "heldout.src"), encoding="utf-8")):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    lang, raw = line.split("|", 1)
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\[\[(\w+)\|(.*?)\]\]", raw):
        text += raw[pos:m.start()]
        start = len(text)
        text += m.group(2)
        kind = m.group(1)
        cat = CAT.get(kind, "special" if kind in SPECIAL else "personal")
        spans.append({"start": start, "end": len(text), "kind": kind, "category": cat})
        pos = m.end()
    text += raw[pos:]
    out.append({"id": f"h-{lang}-{n:04d}", "lang": lang, "text": text, "spans": spans})
with open(os.path.join(here, "heldout.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out), "lines")
