//! Throughput of the full detector (every recogniser on) over a large generated transcript.
//!
//! ```text
//! cargo run -p sotto-detect --release --example throughput -- [MB] [lang|auto] [dense|calls] [all|rec]
//! ```
//! The input mixes the sentence frames of `dev.jsonl`-like calls in all seven languages:
//! `dense` — every other line carries numbers, cards, ids or e-mails; `calls` — about one line in
//! six does, the rest is plain talk (closer to a real call). `rec` times only the
//! non-lexical recognisers (numbers, checksums, cues), `all` the whole detector.
//! Single thread: MB/s per core.

use sotto_core::Lang;
use sotto_detect::Detector;
use std::time::Instant;

const PLAIN: &[&str] = &[
    "Agent: Goddag, du taler med Anna, hvad kan jeg hjælpe med i dag?",
    "Vi har öppet från åtta till sex på vardagar och till ett på lördagar.",
    "Saksbehandler: Takk for at du ventet, jeg skal se hva jeg kan gjøre med saken din.",
    "Agentti: Selvä, tarkistan tilauksesi tiedot ja palaan asiaan hetken kuluttua.",
    "Klienditeenindaja: Tänan, kas ma saan veel millegagi aidata?",
    "Mitarbeiterin: Vielen Dank für Ihre Geduld, ich schaue mir das gleich an.",
    "Advisor: Thanks for holding, I can see the order was dispatched yesterday afternoon.",
    "Okay so the weather has been terrible all week and the delivery van could not get through.",
    "Kunde: Ja hej, jeg ringer angående min regning fra sidste måned, den virker lidt høj.",
    "Kund: Jag undrar bara om ni kan skicka fakturan igen, jag hittar den inte.",
];

const LINES: &[&str] = &[
    "Agent: Goddag, du taler med Anna, hvad kan jeg hjælpe med i dag?",
    "Kunde: Ja hej, jeg ringer angående min regning fra sidste måned, den virker lidt høj.",
    "kunde: mit cpr-nummer er sytten nul ni nioghalvfems, seksoghalvfems seksogtredive",
    "Kund: Jag har kortet här, 5594-4111-7832-6286, och det går ut 12/2025.",
    "Vi har öppet från åtta till sex på vardagar och till ett på lördagar.",
    "Innringer: Jeg eh har kortet her, fire fem sju ni null åtte null fem fem en åtte fire åtte sju åtte seks.",
    "Saksbehandler: Takk for at du ventet, jeg skal se hva jeg kan gjøre med saken din.",
    "Asiakas: Nimeni on Laura Mäkelä ja henkilötunnus on 250989-817P.",
    "Agentti: Selvä, tarkistan tilauksesi tiedot ja palaan asiaan hetken kuluttua.",
    "Klient: Minu number on +372 544 4185, helistage palun pärast kella viit.",
    "Klienditeenindaja: Tänan, kas ma saan veel millegagi aidata?",
    "Anrufer: Also, meine IBAN ist DE06 5001 0517 6017 9688 42, bitte überweisen Sie dorthin.",
    "Mitarbeiterin: Vielen Dank für Ihre Geduld, ich schaue mir das gleich an.",
    "Customer: Send it to lars underscore christensen at hotmail dot com please.",
    "Advisor: Thanks for holding, I can see the order was dispatched yesterday afternoon.",
    "The tracking number is 9832764879392056, you can follow the parcel on the website.",
    "Caller: my date of birth is the fourteenth of July nineteen forty-five.",
    "Okay so the weather has been terrible all week and the delivery van could not get through.",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mb: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(50);
    let lang: Option<Lang> = args.get(1).and_then(|s| s.parse().ok());
    let calls = args.get(2).is_some_and(|s| s == "calls");
    let rec_only = args.get(3).is_some_and(|s| s == "rec");
    let mut lines: Vec<&str> = Vec::new();
    let mut bytes = 0usize;
    let mut i = 0usize;
    while bytes < mb << 20 {
        let l = if calls && i % 6 != 0 {
            PLAIN[(i * 7 + i / 5) % PLAIN.len()]
        } else {
            LINES[(i * 7 + i / 3) % LINES.len()]
        };
        bytes += l.len() + 1;
        lines.push(l);
        i += 1;
    }
    let det = Detector::new();
    let _ = det.detect("warm up 4571 1704 9635 5977", lang);
    let t = Instant::now();
    let mut spans = 0usize;
    if rec_only {
        let rec = sotto_detect::rec::Recognisers::new();
        let langs: Vec<Lang> = lang.map_or(Lang::ALL.to_vec(), |l| vec![l]);
        let mut out = Vec::new();
        for l in &lines {
            out.clear();
            rec.find(l, &langs, &mut out);
            spans += out.len();
        }
    } else {
        for l in &lines {
            spans += det.detect(l, lang).len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} {} lines, {:.1} MB, {} spans in {:.2} s: {:.1} MB/s ({:.0} lines/s), lang {}",
        if rec_only {
            "recognisers only,"
        } else {
            "full detector,"
        },
        lines.len(),
        bytes as f64 / 1048576.0,
        spans,
        secs,
        bytes as f64 / 1048576.0 / secs,
        lines.len() as f64 / secs,
        lang.map_or("auto".to_string(), |l| l.to_string())
    );
}
