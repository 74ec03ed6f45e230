#!/usr/bin/env bash
# Regenerates the demo calls (callN.wav + callN.json) from the texts below.
# Needs: espeak-ng, sox, python3 (standard library only).   Usage: ./generate.sh
# Every value in the calls is invented; identifiers are public test values (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
command -v espeak-ng >/dev/null || { echo "generate.sh: needs espeak-ng (apt-get install espeak-ng)" >&2; exit 1; }
command -v sox >/dev/null || { echo "generate.sh: needs sox (apt-get install sox)" >&2; exit 1; }
exec python3 - <<'PY'
import json, os, subprocess, tempfile, wave

RATE = 8000
LEAD_MS, TURN_GAP_MS, CHUNK_GAP_MS, TAIL_MS = 200, 350, 50, 200
# speaker -> (espeak voice variant, pitch 0-99, words per minute)
VOICES = {"caller": ("+m3", 38, 175), "agent": ("+f3", 62, 180), "bot": ("+f5", 70, 185)}

# A turn is (speaker, kind, [chunks]); a chunk is "text" or ("text as transcribed", "what espeak says").
# Planted values are chunks of their own, so their start/end in the audio are exact.
CALLS = [
  dict(name="call1", lang="da", voice="da", caller="+4520123456", agent="agent-7", turns=[
    ("bot", "static", ["Velkommen til Nordlys Forsikring. Hvad kan jeg hjælpe dig med?"]),
    ("caller", "personal", ["Hej, jeg hedder", "Mette Kjærgaard Holm.", "Mit CPR-nummer er",
        ("070761-4285.", "0 7 0 7 6 1, 4 2 8 5."), "Jeg vil gerne ændre min adresse."]),
    ("agent", "dynamic", ["Tak Mette. Hvilket telefonnummer kan vi ringe til?"]),
    ("caller", "personal", ["Det er", "20 12 34 56,", "og min mail er",
        "mette punktum holm snabel-a eksempel punktum dk."]),
    ("agent", "general", ["Perfekt, du får en bekræftelse på mail i dag."]),
  ]),
  dict(name="call2", lang="sv", voice="sv", caller="+46701234567", agent="agent-12", turns=[
    ("agent", "static", ["Välkommen till Solbacka Bank, du pratar med Erik."]),
    ("caller", "personal", ["Hej, det är", "Johan Lindqvist.", "Mitt personnummer är",
        ("811218-9876.", "8 1 1 2 1 8, 9 8 7 6.")]),
    ("agent", "dynamic", ["Tack Johan. Stämmer det att ditt mobilnummer är", "070-123 45 67?"]),
    ("caller", "personal", ["Ja, och mejlen är", "johan punkt lindqvist snabel-a exempel punkt se."]),
    ("agent", "general", ["Då har jag uppdaterat dina kontaktuppgifter."]),
  ]),
  dict(name="call3", lang="en", voice="en-gb", caller="+447400123456", agent="bot-shop", turns=[
    ("bot", "static", ["Harbour Books payments. Your total is 42 pounds."]),
    ("caller", "personal", ["Hi, this is", "Oliver Bennett.", "My card number is",
        ("4111 1111 1111 1111,", "4 1 1 1, 1 1 1 1, 1 1 1 1, 1 1 1 1,"),
        "expiry", ("09/29,", "0 9, 2 9,"), "and the security code is", ("123.", "1 2 3.")]),
    ("bot", "dynamic", ["Thanks. Where should the receipt go?"]),
    ("caller", "personal", [("oliver.bennett@example.com,", "oliver dot bennett at example dot com,"),
        "or text me on", ("07400 123456.", "0 7 4 0 0, 1 2 3 4 5 6.")]),
  ]),
  dict(name="call4", lang="de", voice="de", caller="+4915123456789", agent="agent-3", turns=[
    ("agent", "static", ["Guten Tag, Apotheke am Markt, Sie sprechen mit Frau Berger."]),
    ("caller", "personal", ["Hallo, hier ist", "Katrin Vogel.", "Ich habe Diabetes Typ 2",
        "und brauche ein neues Rezept für Metformin."]),
    ("agent", "dynamic", ["Gerne, Frau Vogel. Unter welcher Nummer erreichen wir Sie?"]),
    ("caller", "personal", ["Unter", ("0151 23456789,", "0 1 5 1, 2 3 4 5 6 7 8 9,"),
        "oder per Mail an", "katrin punkt vogel at beispiel punkt de."]),
    ("agent", "general", ["Danke, wir melden uns morgen."]),
  ]),
  dict(name="call5", lang="nb", voice="nb", caller="+4791234567", agent="agent-21", turns=[
    ("agent", "static", ["Hei, du har kommet til Fjordtur Reiser, jeg heter Ingrid."]),
    ("caller", "personal", ["Hei, jeg heter", "Lars Haugen.", "Kortnummeret er", ("5555 5555 5555 4444,", "5 5 5 5, 5 5 5 5, 5 5 5 5, 4 4 4 4,"),
        "utløp", ("11/28.", "1 1, 2 8.")]),
    ("agent", "dynamic", ["Takk. Hvilken e-post skal kvitteringen til?"]),
    ("caller", "personal", ["lars punktum haugen krøllalfa eksempel punktum no,",
        "og mobilen min er", "912 34 567."]),
  ]),
]

def pcm_of(voice, speaker, say, tmp):
    variant, pitch, wpm = VOICES[speaker]
    raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "chunk.wav")
    subprocess.run(["espeak-ng", "-v", voice + variant, "-p", str(pitch), "-s", str(wpm),
                    "-w", raw, say], check=True)
    # 8 kHz mono 16-bit, leading and trailing silence trimmed so the chunk bounds are the speech.
    subprocess.run(["sox", "-D", raw, "-r", str(RATE), "-c", "1", "-b", "16", out,
                    "silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%",
                    "reverse"], check=True)
    with wave.open(out, "rb") as w:
        return w.readframes(w.getnframes())

def silence(ms):
    return b"\0\0" * (RATE * ms // 1000)

def ms(nbytes):
    return round(nbytes // 2 * 1000 / RATE)

def words(text, start, end):
    toks = text.split()
    total = sum(len(t) for t in toks)
    out, acc = [], 0
    for t in toks:
        a = start + (end - start) * acc / total
        acc += len(t)
        b = start + (end - start) * acc / total
        out.append({"w": t, "start_ms": round(a), "end_ms": round(b)})
    return out

# Sotto refuses caller numbers libphonenumber calls invalid; check when the Python port is there.
try:
    import phonenumbers
    for call in CALLS:
        if not phonenumbers.is_valid_number(phonenumbers.parse(call["caller"])):
            raise SystemExit(f"{call['name']}: caller {call['caller']} is not a valid number")
except ImportError:
    pass

with tempfile.TemporaryDirectory() as tmp:
    for call in CALLS:
        audio = bytearray(silence(LEAD_MS))
        segments = []
        for i, (speaker, kind, chunks) in enumerate(call["turns"]):
            if i:
                audio += silence(TURN_GAP_MS)
            seg_start, seg_words, texts = ms(len(audio)), [], []
            for j, chunk in enumerate(chunks):
                text, say = (chunk, chunk) if isinstance(chunk, str) else chunk
                if j:
                    audio += silence(CHUNK_GAP_MS)
                a = ms(len(audio))
                audio += pcm_of(call["voice"], speaker, say, tmp)
                seg_words += words(text, a, ms(len(audio)))
                texts.append(text)
            segments.append({"speaker": speaker, "kind": kind, "start_ms": seg_start,
                             "end_ms": ms(len(audio)), "text": " ".join(texts), "words": seg_words})
        audio += silence(TAIL_MS)
        lin = os.path.join(tmp, "lin.wav")
        with wave.open(lin, "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE); w.writeframes(bytes(audio))
        wav = call["name"] + ".wav"
        subprocess.run(["sox", "-D", lin, "-e", "u-law", "-r", str(RATE), "-c", "1", wav], check=True)
        dur = float(subprocess.run(["soxi", "-D", wav], check=True, capture_output=True,
                                   text=True).stdout)
        doc = {"lang": call["lang"], "caller": call["caller"], "agent": call["agent"],
               "segments": segments}
        with open(call["name"] + ".json", "w", encoding="utf-8") as f:
            # One segment per line: readable diffs, small files.
            head = {k: v for k, v in doc.items() if k != "segments"}
            f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "segments": [\n')
            f.write(",\n".join("  " + json.dumps(s, ensure_ascii=False) for s in segments))
            f.write("\n]}\n")
        print(f"{wav}: {dur:.2f} s, {len(segments)} turns")
PY
