#!/usr/bin/env python3
"""Name-swap generalisation check: does person-name detection carry over to names the detector
was not developed on?

Takes the lines of a labelled corpus (dev.jsonl) that have person_name spans and replaces every
word of each gold name with another real name of the line's language, drawn (seeded) from the
held-apart lists below. Those lists were written apart from the gazetteers: none of their names
is in the gazetteers as they were before they were enlarged (`data/names/*` at 7561aeb); many
are in the enlarged ones, which is what this measures. A spelled-out span that spells a replaced
word ("P O U L S E N") is respelled with the new name. Offsets are recomputed in code points.

    python3 name_swap.py make [DEV.jsonl] [OUT.jsonl] [--reps N] [--seed S]
    python3 name_swap.py score GOLD.jsonl PRED.jsonl      # person_name per language
    python3 name_swap.py count PRED.jsonl [--langs GOLD.jsonl]  # person_name spans predicted

PRED files are `sotto redact --format jsonl` output (or the `eval` example's).
No network, no dependencies.
"""
import json
import random
import re
import sys

# Held-apart names: common in each country (all ages), none of them in the pre-enlargement
# gazetteers, and some not in the enlarged ones either. Some are also words (Frost, Hvid, Gran,
# Kuningas, Moss, Veli…): real corpora have those too.
FIRST = {
    "da": "Allan Bjarke Birthe Else Gert Henriette Jytte Karina Line René Rita Tommy Vagn Benny "
    "Ditte Jeanette Majken Sanne Janni Kaare Knud Mogens Nicolai Bettina Henny Jimmy Kenn "
    "Keld Lis Maiken Tenna Vivi Dorit Gurli Willy Ejner Conny Lillian Kamilla Jonna Aage "
    "Børge",
    "sv": "Annika Bertil Emelie Evert Gösta Ingemar Lovisa Matilda Roger Roland Tommy Viktoria "
    "Annelie Ingvar Therese Rebecka Sixten Märta Gustaf Birger Börje Gunvor Majvor Rutger "
    "Svante Sture Vendela Kajsa Tyra Yngve Folke Klas Gunnel Ingela",
    "nb": "Bjørg Bård Eldbjørg Hallvard Jostein Kåre Laila Oddvar Pål Reidun Roger Sigrun Snorre "
    "Tonje Torunn Trygve Vigdis Arild Asbjørn Kjetil Anita Oddny Synne Gaute Halvard Jarle "
    "Magne Njål Ottar Ragna Sigve Torgeir Åshild Ådne Gunvor Rigmor",
    "fi": "Aila Asko Erja Esa Harri Hilkka Irmeli Jorma Jouni Kaija Keijo Leila Marita Marjo Martti "
    "Mervi Olavi Pertti Raili Rauno Reino Riitta Seija Sinikka Teuvo Unto Vesa Sirkka Anssi "
    "Jarkko Tuulikki Hannele Veli Kauko Sulo Terttu",
    "et": "Aili Aivo Alar Arno Eerik Elmar Ene Helju Hendrik Jaak Kaire Kaupo Liia Maie Malle Marek "
    "Margit Merili Ott Peep Reelika Sirli Taimo Tarvo Toivo Ülo Urmo Vaike Ave Imbi Jaanika "
    "Kaja Leida Luule Maire Valdur Asko",
    "de": "Achim Dietmar Elke Erwin Gertrud Hartmut Hildegard Ingo Irmgard Jochen Karsten Marion "
    "Norbert Olaf Reinhard Rosemarie Rüdiger Siegfried Ulrich Waltraud Wilfried Nadine "
    "Stephanie Manuela Konrad Gerda Edeltraud Herbert Silvia Marlies Burkhard Annegret Rita "
    "Egon",
    "en": "Barry Bethany Brenda Colin Derek Donna Elaine Gary Gillian Heather Jacqueline Keith "
    "Kerry Leanne Lesley Malcolm Maureen Neil Nigel Pauline Raymond Sheila Shirley Terry "
    "Trevor Valerie Wendy Kathleen Bernard Moira Ronald Beverley Marjorie Glenys Clive Graeme "
    "Lorraine Vernon Doreen",
}
SUR = {
    "da": "Ahlmann Bjerregaard Carstensen Dyrberg Eskildsen Frost Graversen Grønbæk Holmgaard Hvid "
    "Jensby Kjærgaard Kragh Lauritzen Markussen Nedergaard Nordentoft Pape Pilgaard Rytter "
    "Schrøder Sejersen Sloth Stougaard Søgaard Thrane Tranberg Westergaard Wulff Aagaard Kamp "
    "Mikkelstrup Sandager",
    "sv": "Ahlberg Almqvist Bergkvist Boström Carlsson Dahlgren Ekberg Engberg Forslund Granberg "
    "Hagström Hallberg Hedman Holmqvist Kjellberg Lindkvist Ljungberg Malmberg Melin Nyman "
    "Palmqvist Rosén Sjödin Strandberg Strömberg Wahlström Westberg Wiberg Zetterberg "
    "Ahlström Sundelin",
    "nb": "Bjerke Breivik Dahle Egeland Eikeland Fosse Gran Hamre Helgesen Hoff Holen Hovde Kleppe "
    "Kvamme Langeland Lyng Løken Mørk Nesheim Opsahl Reitan Rustad Sande Skaar Solbakken "
    "Sunde Teigen Tveiten Vatne Wang Bergset Fjellvang",
    "fi": "Aho Ahola Eskola Haapala Heiskanen Hietala Hokkanen Huhtala Jussila Kauppila Keskinen "
    "Kiuru Kokko Lassila Leino Lepistö Luukkonen Mäenpää Nykänen Pelkonen Pulkkinen Rajala "
    "Saarela Sipilä Tamminen Tiainen Uusitalo Vartiainen Vuorinen Ylönen Kantola Hyvärinen",
    "et": "Adamson Aru Jakobson Jürgenson Kaljula Kikas Kingsepp Kotkas Kuningas Laidoner Lember "
    "Liiva Luts Mäe Mõttus Nõmme Oras Pihl Reinsalu Rüütel Sarv Soots Tammik Tohver Toots "
    "Uustalu Vahtra Villems Õunapuu Kivirähk Mölder",
    "de": "Arndt Barth Bischoff Döring Eichhorn Fiedler Freitag Gärtner Gebhardt Göbel Haase "
    "Heinemann Herzog Hoppe Jahn Kaufmann Kirchner Kretschmer Lenz Maurer Menzel Naumann Popp "
    "Reinhardt Schilling Schramm Seeger Siebert Stahl Unger Kowalczyk Brückner",
    "en": "Bates Baxter Bishop Bowen Briggs Burgess Burns Coleman Connolly Cross Curtis Farrell "
    "Fleming Gilbert Hamilton Henderson Hopkins Lamb Lynch Maxwell Moss Norris Nolan Parry "
    "Quinn Sinclair Skinner Sutton Townsend Yates Ashworth Pickering",
}
FIRST = {k: v.split() for k, v in FIRST.items()}
SUR = {k: v.split() for k, v in SUR.items()}

# Pre-enlargement surnames that are not also first names, to tell a lone surname from a lone
# first name in a gold span (the gazetteer files at 7561aeb, only the ones dev.jsonl uses).
LONE_SURNAMES = {
    "poulsen", "larsen", "sørensen", "rasmussen", "kristensen", "holm", "hansen", "pedersen",
    "christensen", "eriksson", "lindqvist", "nilsson", "larsson", "bakken", "nilsen", "haugen",
    "dahl", "lie", "johansen", "berg", "salo", "korhonen", "mäkelä", "hämäläinen", "lehtonen",
    "mäkinen", "rebane", "ilves", "lepik", "kukk", "saar", "pärn", "kask", "fischer", "müller",
    "koch", "becker", "weber", "brown", "williams", "evans", "smith", "wilson", "wagner",
}


def cased(new, like):
    if like.isupper() and len(like) > 1:
        return new.upper()
    if like[:1].isupper():
        return new[:1].upper() + new[1:]
    return new.lower()


SPELLED = re.compile(r"^\w([ \-.]+\w)+$")


def is_spelled(s):
    return bool(SPELLED.match(s)) and all(len(p) == 1 for p in re.split(r"[ \-.]+", s))


def respell(word, like):
    """Spell `word` with the separator and case of the spelled span `like`."""
    sep = re.search(r"[ \-.]+", like).group(0)
    letters = [c.upper() if like[:1].isupper() else c.lower() for c in word]
    return sep.join(letters)


def swap_line(rec, rng):
    text = rec["text"]
    lang = rec["lang"]
    spans = sorted(rec["spans"], key=lambda s: s["start"])
    mapping = {}  # old word (lower) -> new word (lower)

    def new_word(w, role):
        k = w.lower()
        if k not in mapping:
            pool = FIRST[lang] if role == "first" else SUR[lang]
            used = set(mapping.values())
            choice = rng.choice([n for n in pool if n.lower() not in used] or pool)
            mapping[k] = choice.lower()
        return cased(mapping[k], w)

    # first pass: names said as words
    repl = {}
    for i, s in enumerate(spans):
        if s["kind"] != "person_name":
            continue
        val = text[s["start"]:s["end"]]
        if is_spelled(val):
            continue
        words = val.split()
        out = []
        for j, w in enumerate(words):
            if len(words) >= 2:
                role = "sur" if j == len(words) - 1 else "first"
            else:
                role = "sur" if w.lower() in LONE_SURNAMES else "first"
            out.append(new_word(w, role))
        # keep the original whitespace between the words
        gaps = re.findall(r"\s+", val)
        nv = out[0] + "".join(g + w for g, w in zip(gaps, out[1:]))
        repl[i] = nv
    # second pass: spelled names that spell a replaced word
    for i, s in enumerate(spans):
        if s["kind"] != "person_name" or i in repl:
            continue
        val = text[s["start"]:s["end"]]
        if not is_spelled(val):
            continue
        joined = re.sub(r"[ \-.]+", "", val).lower()
        if joined in mapping:
            repl[i] = respell(mapping[joined], val)
    if not repl:
        return None
    new_text, new_spans, pos = "", [], 0
    for i, s in enumerate(spans):
        new_text += text[pos:s["start"]]
        start = len(new_text)
        new_text += repl.get(i, text[s["start"]:s["end"]])
        ns = dict(s)
        ns["start"], ns["end"] = start, len(new_text)
        new_spans.append(ns)
        pos = s["end"]
    new_text += text[pos:]
    return {"id": rec["id"], "lang": lang, "text": new_text, "spans": new_spans}


def make(src, dst, reps, seed):
    rng = random.Random(seed)
    n = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as o:
        recs = [json.loads(l) for l in f if l.strip()]
        for rep in range(reps):
            for rec in recs:
                if not any(s["kind"] == "person_name" for s in rec["spans"]):
                    continue
                r = swap_line(rec, rng)
                if r is None:
                    continue
                r["id"] = f"{rec['id']}-s{rep}"
                o.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
    print(n, "lines written to", dst)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def score(gold_path, pred_path):
    gold = {r["id"]: r for r in load(gold_path)}
    pred = {r["id"]: r for r in load(pred_path)}
    acc = {}
    for gid, g in gold.items():
        p = pred.get(gid, {"spans": []})
        gs = [s for s in g["spans"] if s["kind"] == "person_name"]
        ps = [s for s in p.get("spans", []) if s.get("kind") == "person_name"]
        a = acc.setdefault(g["lang"], [0, 0, 0, 0, 0, 0, 0])  # gold found strict chars leaked pred tp
        text = g["text"]
        for s in gs:
            a[0] += 1
            over = [q for q in ps if q["start"] < s["end"] and s["start"] < q["end"]]
            a[1] += bool(over)
            need = [k for k in range(s["start"], s["end"]) if not text[k].isspace()]
            cov = [k for k in need if any(q["start"] <= k < q["end"] for q in ps)]
            a[2] += len(cov) == len(need)
            a[3] += len(need)
            a[4] += len(need) - len(cov)
        for q in ps:
            a[5] += 1
            a[6] += any(q["start"] < s["end"] and s["start"] < q["end"] for s in gs)
    tot = [sum(x) for x in zip(*acc.values())]
    print(f"{'lang':6}{'gold':>6}{'recall':>8}{'strict':>8}{'prec':>8}{'leak':>8}{'pred':>6}")
    for k in sorted(acc) + ["ALL"]:
        a = tot if k == "ALL" else acc[k]
        r = a[1] / a[0] if a[0] else 1.0
        st = a[2] / a[0] if a[0] else 1.0
        pr = a[6] / a[5] if a[5] else 1.0
        lk = a[4] / a[3] if a[3] else 0.0
        print(f"{k:6}{a[0]:6}{r:8.3f}{st:8.3f}{pr:8.3f}{lk:8.3f}{a[5]:6}")


def count(pred_path, gold_path=None):
    langs = {r["id"]: r.get("lang", "?") for r in load(gold_path)} if gold_path else {}
    per = {}
    lines = 0
    for r in load(pred_path):
        k = langs.get(r["id"], "all")
        n = sum(1 for s in r.get("spans", []) if s.get("kind") == "person_name")
        c = per.setdefault(k, [0, 0])
        c[0] += n
        c[1] += n > 0
        lines += 1
    print(f"{lines} lines; person_name spans / lines with one:",
          ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(per.items())))


def main(argv):
    args, opts, i = [], {}, 0
    while i < len(argv):
        if argv[i].startswith("--") and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if not args or args[0] not in ("make", "score", "count"):
        print(__doc__)
        return 2
    if args[0] == "make":
        src = args[1] if len(args) > 1 else "/work/shared/eval/dev.jsonl"
        dst = args[2] if len(args) > 2 else "/tmp/name-swap.jsonl"
        make(src, dst, int(opts.get("--reps", 5)), int(opts.get("--seed", 1)))
    elif args[0] == "score":
        score(args[1], args[2])
    else:
        count(args[1], opts.get("--langs"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
