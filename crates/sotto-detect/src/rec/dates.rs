//! Month names and day ordinals of the seven languages, and the date shapes built from them:
//! "7. Dezember 1977", "the fourteenth of July nineteen forty-five", "sjette juli nitten
//! niogtres", "17. tammikuuta 1968", "joulukuu 2027", "marts to tusind og femogtyve".

use crate::normalize::{NumRun, Tok, TokClass};
use crate::numbers::{FxMap, PairSet};
use once_cell::sync::Lazy;

static MONTHS: Lazy<FxMap<String, u8>> = Lazy::new(|| {
    let mut m = FxMap::default();
    let lists: [[&str; 12]; 9] = [
        [
            "januar",
            "februar",
            "marts",
            "april",
            "maj",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "december",
        ],
        [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ],
        [
            "januar",
            "februar",
            "mars",
            "april",
            "mai",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "desember",
        ],
        [
            "tammikuu",
            "helmikuu",
            "maaliskuu",
            "huhtikuu",
            "toukokuu",
            "kesäkuu",
            "heinäkuu",
            "elokuu",
            "syyskuu",
            "lokakuu",
            "marraskuu",
            "joulukuu",
        ],
        [
            "jaanuar",
            "veebruar",
            "märts",
            "aprill",
            "mai",
            "juuni",
            "juuli",
            "august",
            "september",
            "oktoober",
            "november",
            "detsember",
        ],
        [
            "januar",
            "februar",
            "märz",
            "april",
            "mai",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "dezember",
        ],
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        [
            "jänner", "feber", "maerz", "apr", "mai", "jun", "jul", "aug", "sept", "okt", "nov",
            "dez",
        ],
    ];
    for l in lists {
        for (i, n) in l.iter().enumerate() {
            let v = (i + 1) as u8;
            m.insert(n.to_string(), v);
            // Finnish partitive / inessive / elative; Estonian adessive
            for suf in ["ta", "ssa", "sta", "il", "l", "n", "s"] {
                if n.len() > 4 {
                    m.entry(format!("{n}{suf}")).or_insert(v);
                }
            }
        }
    }
    m.remove("mars");
    m.insert("mars".into(), 3);
    for (i, n) in [
        "jaanuaril",
        "veebruaril",
        "märtsil",
        "aprillil",
        "mail",
        "juunil",
        "juulil",
        "augustil",
        "septembril",
        "oktoobril",
        "novembril",
        "detsembril",
    ]
    .iter()
    .enumerate()
    {
        m.insert(n.to_string(), (i + 1) as u8);
    }
    m
});

static ORDINALS: Lazy<FxMap<String, u8>> = Lazy::new(|| {
    let mut m: FxMap<String, u8> = FxMap::default();
    let mut put = |s: &str, v: u8| {
        m.entry(s.to_string()).or_insert(v);
    };
    // en
    let en = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
    ];
    for (i, w) in en.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    put("thirtieth", 30);
    for (i, w) in en.iter().take(9).enumerate() {
        put(&format!("twenty{w}"), (21 + i) as u8);
    }
    put("thirtyfirst", 31);
    // da
    let da = [
        "første",
        "anden",
        "tredje",
        "fjerde",
        "femte",
        "sjette",
        "syvende",
        "ottende",
        "niende",
        "tiende",
        "ellevte",
        "tolvte",
        "trettende",
        "fjortende",
        "femtende",
        "sekstende",
        "syttende",
        "attende",
        "nittende",
        "tyvende",
    ];
    for (i, w) in da.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    put("andet", 2);
    put("tredivte", 30);
    let da_u = [
        "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni",
    ];
    for (i, u) in da_u.iter().enumerate() {
        put(&format!("{u}ogtyvende"), (21 + i) as u8);
    }
    put("enogtredivte", 31);
    // nb
    let nb = [
        "første",
        "andre",
        "tredje",
        "fjerde",
        "femte",
        "sjette",
        "sjuende",
        "åttende",
        "niende",
        "tiende",
        "ellevte",
        "tolvte",
        "trettende",
        "fjortende",
        "femtende",
        "sekstende",
        "syttende",
        "attende",
        "nittende",
        "tjuende",
    ];
    for (i, w) in nb.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    put("syvende", 7);
    put("trettiende", 30);
    put("trettiførste", 31);
    for (i, w) in nb.iter().take(9).enumerate() {
        put(&format!("tjue{w}"), (21 + i) as u8);
    }
    put("tjuesyvende", 27);
    // sv
    let sv = [
        "första",
        "andra",
        "tredje",
        "fjärde",
        "femte",
        "sjätte",
        "sjunde",
        "åttonde",
        "nionde",
        "tionde",
        "elfte",
        "tolfte",
        "trettonde",
        "fjortonde",
        "femtonde",
        "sextonde",
        "sjuttonde",
        "artonde",
        "nittonde",
        "tjugonde",
    ];
    for (i, w) in sv.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    put("trettionde", 30);
    put("trettioförsta", 31);
    for (i, w) in sv.iter().take(9).enumerate() {
        put(&format!("tjugo{w}"), (21 + i) as u8);
    }
    // de (with inflection endings -n, -r, -s, -m)
    let de = [
        "erste",
        "zweite",
        "dritte",
        "vierte",
        "fünfte",
        "sechste",
        "siebte",
        "achte",
        "neunte",
        "zehnte",
        "elfte",
        "zwölfte",
        "dreizehnte",
        "vierzehnte",
        "fünfzehnte",
        "sechzehnte",
        "siebzehnte",
        "achtzehnte",
        "neunzehnte",
        "zwanzigste",
    ];
    let de_u = [
        "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
    ];
    let mut de_all: Vec<(String, u8)> = de
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), (i + 1) as u8))
        .collect();
    for (i, u) in de_u.iter().enumerate() {
        de_all.push((format!("{u}undzwanzigste"), (21 + i) as u8));
    }
    de_all.push(("dreißigste".into(), 30));
    de_all.push(("dreissigste".into(), 30));
    de_all.push(("einunddreißigste".into(), 31));
    de_all.push(("einunddreissigste".into(), 31));
    for (w, v) in de_all {
        for suf in ["", "n", "r", "s", "m"] {
            put(&format!("{w}{suf}"), v);
        }
    }
    // fi, et (spoken days are rarer: the common ones)
    let fi = [
        "ensimmäinen",
        "toinen",
        "kolmas",
        "neljäs",
        "viides",
        "kuudes",
        "seitsemäs",
        "kahdeksas",
        "yhdeksäs",
        "kymmenes",
    ];
    let fi_teen = [
        "yhdes",
        "kahdes",
        "kolmas",
        "neljäs",
        "viides",
        "kuudes",
        "seitsemäs",
        "kahdeksas",
        "yhdeksäs",
    ];
    for (i, w) in fi_teen.iter().enumerate() {
        put(&format!("{w}toista"), (11 + i) as u8);
        put(
            &format!("kahdeskymmenes{}", fi.get(i).copied().unwrap_or("")),
            (21 + i) as u8,
        );
    }
    put("kahdeskymmenes", 20);
    put("kolmaskymmenes", 30);
    put("kolmaskymmenesensimmäinen", 31);
    for (i, w) in fi.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    let et = [
        "esimene", "teine", "kolmas", "neljas", "viies", "kuues", "seitsmes", "kaheksas",
        "üheksas", "kümnes",
    ];
    for (i, w) in et.iter().enumerate() {
        put(w, (i + 1) as u8);
    }
    m
});

/// First/last byte pairs of the month words: most words of a line are no month, and this
/// answers them without hashing.
static MONTH_PAIRS: Lazy<PairSet> = Lazy::new(|| PairSet::of(MONTHS.keys().map(|k| k.as_bytes())));

// inline: most words fail the byte-pair test, and then no call is made for them (a plain
// `#[inline]` is not followed once there are two callers)
#[inline(always)]
pub fn month(w: &str) -> Option<u8> {
    if !could_be_month(w.as_bytes()) {
        return None;
    }
    MONTHS.get(w).copied()
}

/// False when the word `w` is no month name by its first and last byte pairs and its length
/// (the test [`month`] starts with).
#[inline(always)]
fn could_be_month(w: &[u8]) -> bool {
    MONTH_PAIRS.maybe(w) && MONTH_PAIRS.len_ok(w)
}

/// [`month`] of a word given as bytes (a slice of a `str`): the byte tests, made where it is
/// asked (once per word of a line), then the `str` and the map only for the few words that pass
/// them (bytes that are no whole `str` are no month name).
#[inline(always)]
pub(crate) fn month_of_bytes(w: &[u8]) -> Option<u8> {
    if !could_be_month(w) {
        return None;
    }
    month_of_str_bytes(w)
}

/// The map lookup of [`month_of_bytes`], out of line.
#[inline(never)]
fn month_of_str_bytes(w: &[u8]) -> Option<u8> {
    MONTHS.get(std::str::from_utf8(w).ok()?).copied()
}

pub fn ordinal(w: &str) -> Option<u8> {
    ORDINALS.get(w).copied()
}

/// A date said with a month name.
#[derive(Debug, Clone, Copy)]
pub struct MonthDate {
    pub s: usize,
    pub e: usize,
    pub day: Option<u8>,
    pub month: u8,
    pub year: Option<u32>,
}

const SKIP_BEFORE: &[&str] = &["of", "den", "the", "am", "der", "on", "d"];

fn word<'a>(lower: &'a str, t: &Tok) -> &'a str {
    lower.get(t.s..t.e).unwrap_or("")
}

fn digits_val(text: &str, t: &Tok) -> Option<u32> {
    let raw = text.get(t.s..t.e)?;
    match t.class {
        TokClass::Digits if raw.len() <= 4 => raw.parse().ok(),
        // "3rd", "21st", "14th", "1st"
        TokClass::Alnum if raw.len() <= 4 => {
            let (num, suf) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit())?);
            if matches!(suf.to_ascii_lowercase().as_str(), "st" | "nd" | "rd" | "th") {
                num.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Finds month-name dates. `runs` give spoken years ("nitten niogtres").
pub fn find(text: &str, lower: &str, toks: &[Tok], runs: &[NumRun], out: &mut Vec<MonthDate>) {
    out.clear();
    for (mi, t) in toks.iter().enumerate() {
        if t.class != TokClass::Word || t.e - t.s < 3 {
            continue;
        }
        let Some(m) = month(word(lower, t)) else {
            continue;
        };
        let mut s = t.s;
        let mut e = t.e;
        let mut day = None;
        // day before the month
        let mut k = mi;
        while k > 0 {
            let Some(p) = toks.get(k - 1) else { break };
            let w = word(lower, p);
            if p.class == TokClass::Punct && w == "." || SKIP_BEFORE.contains(&w) {
                k -= 1;
                continue;
            }
            if let Some(v) = digits_val(text, p).filter(|v| (1..=31).contains(v)) {
                day = Some(v as u8);
                s = p.s;
            } else if let Some(v) = ordinal(w) {
                day = Some(v);
                s = p.s;
                // "twenty first" / "twenty-first"
                let mut q = k - 1;
                if q > 0 && toks.get(q - 1).is_some_and(|x| word(lower, x) == "-") {
                    q -= 1;
                }
                if q > 0 {
                    if let Some(x) = toks.get(q - 1) {
                        let tw = word(lower, x);
                        let add = match tw {
                            "twenty" | "tjue" | "tjugo" => 20,
                            "thirty" | "tretti" | "trettio" => 30,
                            _ => 0,
                        };
                        if add > 0 && v < 10 {
                            day = Some(v + add);
                            s = x.s;
                        }
                    }
                }
            }
            break;
        }
        // day after the month ("July 14", "July 14th")
        let mut n = mi + 1;
        if day.is_none() {
            if let Some(v) = toks
                .get(n)
                .and_then(|x| digits_val(text, x))
                .filter(|v| (1..=31).contains(v))
            {
                if toks.get(n).is_some_and(|x| x.e - x.s <= 2) {
                    day = Some(v as u8);
                    e = toks.get(n).map_or(e, |x| x.e);
                    n += 1;
                    if toks
                        .get(n)
                        .is_some_and(|x| matches!(word(lower, x), "st" | "nd" | "rd" | "th" | ","))
                    {
                        n += 1;
                    }
                }
            }
        }
        // year after
        let mut year = None;
        while toks
            .get(n)
            .is_some_and(|x| matches!(word(lower, x), "," | "." | "år" | "i" | "of"))
        {
            n += 1;
        }
        if let Some(nt) = toks.get(n) {
            if let Some(r) = runs.iter().find(|r| r.s() == nt.s) {
                // take groups until 4 digits (or 2 for a two-digit year)
                let mut acc = 0usize;
                let mut val = 0u32;
                let mut end = None;
                for g in &r.groups {
                    for &d in r.digits.get(g.ds..g.de).unwrap_or(&[]) {
                        val = val * 10 + u32::from(d);
                    }
                    acc += g.de - g.ds;
                    end = Some(g.e);
                    if acc >= 4 {
                        break;
                    }
                }
                if acc == 4 && (1900..=2099).contains(&val) || acc == 2 {
                    year = Some(if acc == 2 { 2000 + val } else { val });
                    if let Some(x) = end {
                        e = x;
                    }
                }
            }
        }
        if day.is_none() && year.is_none() {
            continue;
        }
        out.push(MonthDate {
            s,
            e,
            day,
            month: m,
            year,
        });
    }
}
