//! Language identification restricted to the seven transcript languages.
//!
//! Scores function words (the `[stop]`, `[personal]`, `[filler]` and `[copula]` lists of
//! `data/cues/<lang>.txt`, plus a few extra markers below) and letters that only some of the
//! languages use (õ, ß, æ/ø, ä/ö, å). A word shared by several languages counts for each of them
//! by one over their number. Short or mixed texts give `None` rather than a guess.

use once_cell::sync::Lazy;
use sotto_core::Lang;

use crate::lexical::fold;

const CUES: [(Lang, &str); 7] = [
    (Lang::Da, include_str!("../data/cues/da.txt")),
    (Lang::Sv, include_str!("../data/cues/sv.txt")),
    (Lang::Nb, include_str!("../data/cues/nb.txt")),
    (Lang::Fi, include_str!("../data/cues/fi.txt")),
    (Lang::Et, include_str!("../data/cues/et.txt")),
    (Lang::De, include_str!("../data/cues/de.txt")),
    (Lang::En, include_str!("../data/cues/en.txt")),
];

/// Extra frequent words per language that the cue lists do not carry.
const EXTRA: [(Lang, &str); 7] = [
    (Lang::Da, "hvad hvordan hvorfor nogle noget meget mange efter også kun sådan hvis mellem bliver blev lige godt gerne kroner øh øhm jamen hedder gentager tager ikke nul et to tre fire fem seks syv otte ni ti elleve tolv tyve tredive fyrre halvtreds tres halvfjerds firs halvfems hverdage lørdag lørdagen søndag mandag fredag åbent lukket åbner sagsnummeret nummeret beløbet står brevet pakken hjemmesiden forsendelsen kontrolcifrene udløber gerne tak fødselsdag født kundenummer mit min sige ringer tilbage vej aften hjemme"),
    (Lang::Sv, "inte och jag är det vad hur varför några något mycket många efter också bara sådan mellan blir blev heter upprepar tar kronor öh alltså liksom ba kommer noll ett två tre fyra fem sex sju åtta nio tio elva tolv tjugo trettio fyrtio femtio sextio sjuttio åttio nittio vardagar lördagar öppet stängt paketet försändelsen hemsidan ärendenumret brevet beloppet går ut säkerhetskod mitt min också jo ni nu då mejl snabel punkt"),
    (Lang::Nb, "ikke ikkje hva hvordan hvorfor noen noe mye mange etter også bare sånn mellom blir ble heter gjentar tar kroner eh ehm liksom altså kommer meg deg null en to tre fire fem seks sju syv åtte ni ti elleve tolv tjue tretti førti femti seksti sytti åtti nitti hverdager lørdager åpent stengt tilbake kveld vei okei hjemme pakken sendingen nettsiden saksnummeret brevet beløpet utløper sikkerhetskode klokka mandag fått født nå"),
    (Lang::Fi, "on ja että ei se olen minä mä kyllä niin mutta tai kun jos myös vain nyt sitten tämä tässä täällä hän me te he mitä miten miksi joka euroa öö niinku tota siis yksi kaksi kolme neljä viisi kuusi seitsemän kahdeksan yhdeksän kymmenen nolla sata tuhat arkisin lauantaisin auki kiinni paketin paketti viite numero laskun summa voit soittaa sinne huomenna maanantaina siinä kaikki tulee välillä sähköpostini ollut"),
    (Lang::Et, "on ja et ei see ma mina olen kas mis kus kui aga ka nii siin teie meie mul tal pole oli saan tere aitäh eurot öö noh ning üks kaks kolm neli viis kuus seitse kaheksa üheksa kümme null sada tuhat tööpäeviti laupäeviti avatud suletud pakk pakett arve summa number tuleb vahel kümne homme helistada minu mu teie kuulete"),
    (Lang::De, "und ich ist nicht das die der den dem ein eine sie wir mit auf für von zu ja genau halt äh ähm auch noch schon bitte danke euro heiße habe bin null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig vierzig fünfzig hundert werktags samstags geöffnet geschlossen paket sendung webseite rechnungsnummer betrag bestellt kommt uhr morgen punkt bindestrich schicken"),
    (Lang::En, "the and is it you i to of a that in my this for on with are was have be not we your so um uh like please thanks yes name oh zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred double weekdays saturdays open closed parcel order website tracking number amount pounds dispatched should arrive ring call back"),
];

static WORDS: Lazy<rustc_hash::FxHashMap<String, Vec<Lang>>> = Lazy::new(|| {
    let mut m: rustc_hash::FxHashMap<String, Vec<Lang>> = rustc_hash::FxHashMap::default();
    let mut add = |w: &str, l: Lang| {
        let f = fold(w);
        if f.is_empty() || f.contains(' ') {
            return;
        }
        let v = m.entry(f).or_default();
        if !v.contains(&l) {
            v.push(l);
        }
    };
    for (l, src) in CUES {
        let mut keep = false;
        for line in src.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                keep = matches!(line, "[stop]" | "[personal]" | "[filler]" | "[copula]");
                continue;
            }
            if keep {
                add(line, l);
            }
        }
    }
    for (l, s) in EXTRA {
        for w in s.split_whitespace() {
            add(w, l);
        }
    }
    m
});

fn idx(l: Lang) -> usize {
    Lang::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

/// One of the seven languages, or `None` when unsure.
pub fn detect(text: &str) -> Option<Lang> {
    let folded = fold(text);
    let toks = crate::lexical::tokenize(text);
    detect_prepared(text, &folded, &toks, None)
}

/// The marker words and their languages as a bit set (bit i: `Lang::ALL[i]`), for callers that
/// look words up once for several purposes.
pub(crate) fn word_masks() -> impl Iterator<Item = (&'static str, u8)> {
    WORDS
        .iter()
        .map(|(w, ls)| (w.as_str(), ls.iter().fold(0u8, |m, l| m | (1u8 << idx(*l)))))
}

/// A Finnish vowel pair: "ää", "yy", "äy" or "yä".
fn fi_pair(w: &[u8]) -> bool {
    let mut prev = false;
    let mut i = 0usize;
    while let Some(&c) = w.get(i) {
        let cur = if c == b'y' {
            true
        } else if c == 0xC3 && w.get(i + 1) == Some(&0xA4) {
            i += 1;
            true
        } else {
            false
        };
        if prev && cur {
            return true;
        }
        prev = cur;
        i += 1;
    }
    false
}

fn has(w: &[u8], pat: &[u8]) -> bool {
    w.windows(pat.len()).any(|x| x == pat)
}

/// [`detect`] over a text already folded and cut into words (the detector's shared pass).
/// `masks`: the [`word_masks`] bits of every token when the caller has looked them up.
pub(crate) fn detect_prepared(
    text: &str,
    folded: &str,
    toks: &[crate::lexical::Tok],
    masks: Option<&dyn Fn(usize) -> u8>,
) -> Option<Lang> {
    let mut score = [0f32; 7];
    let mut add = |ls: &[Lang], w: f32| {
        let share = w / ls.len().max(1) as f32;
        for l in ls {
            if let Some(s) = score.get_mut(idx(*l)) {
                *s += share;
            }
        }
    };
    // Letters (all of them two bytes long, after a 0xC3 or 0xC5 lead byte).
    let tb = text.as_bytes();
    for (i, _) in tb
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == 0xC3 || c == 0xC5)
    {
        let Some(c) = text.get(i..).and_then(|r| r.chars().next()) else {
            continue;
        };
        match c {
            'õ' | 'Õ' => add(&[Lang::Et], 2.0),
            'ß' => add(&[Lang::De], 2.0),
            'æ' | 'Æ' | 'ø' | 'Ø' => add(&[Lang::Da, Lang::Nb], 1.0),
            'ä' | 'Ä' | 'ö' | 'Ö' => add(&[Lang::Sv, Lang::Fi, Lang::Et, Lang::De], 0.5),
            'å' | 'Å' => add(&[Lang::Da, Lang::Nb, Lang::Sv], 0.5),
            'ü' | 'Ü' => add(&[Lang::De, Lang::Et], 0.5),
            'š' | 'ž' | 'Š' | 'Ž' => add(&[Lang::Et], 0.5),
            _ => {}
        }
    }
    for (ti, w) in toks
        .iter()
        .enumerate()
        .map(|(i, t)| (i, folded.get(t.s..t.e).unwrap_or("")))
        .filter(|(_, w)| w.len() >= 2 && w.chars().nth(1).is_some())
    {
        // "er" is Swedish "you" but mostly Danish/Norwegian "is".
        match masks {
            Some(m) => {
                let mask = m(ti);
                if mask != 0 {
                    if w == "er" {
                        add(&[Lang::Da, Lang::Nb], 1.0);
                    } else {
                        let mut ls = [Lang::Da; 7];
                        let mut n = 0usize;
                        for (i, l) in Lang::ALL.iter().enumerate() {
                            if mask & (1 << i) != 0 {
                                if let Some(slot) = ls.get_mut(n) {
                                    *slot = *l;
                                    n += 1;
                                }
                            }
                        }
                        add(ls.get(..n).unwrap_or(&[]), 1.0);
                    }
                    continue;
                }
            }
            None => {
                if let Some(ls) = WORDS.get(w) {
                    if w == "er" {
                        add(&[Lang::Da, Lang::Nb], 1.0);
                    } else {
                        add(ls, 1.0);
                    }
                    continue;
                }
            }
        }
        // Shapes of unknown words.
        let wb = w.as_bytes();
        let fi_shape = fi_pair(wb)
            || w.ends_with("ssa")
            || w.ends_with("ssä")
            || w.ends_with("llä")
            || w.ends_with("stä");
        if fi_shape {
            add(&[Lang::Fi], 0.5);
        } else if has(wb, b"og")
            && (w.ends_with("tyve")
                || w.ends_with("tres")
                || w.ends_with("fems")
                || w.ends_with("firs")
                || w.ends_with("tredive")
                || w.ends_with("fyrre")
                || w.ends_with("halvtreds")
                || w.ends_with("halvfjerds"))
        {
            add(&[Lang::Da], 1.0);
        } else if w.ends_with("ung")
            || w.ends_with("keit")
            || w.ends_with("lich")
            || w.starts_with("sch")
        {
            add(&[Lang::De], 0.5);
        } else if w.ends_with("ing") || w.ends_with("tion") || w.ends_with("ly") {
            add(&[Lang::En], 0.3);
        }
    }
    let mut order: Vec<usize> = (0..7).collect();
    order.sort_by(|&a, &b| {
        score[b]
            .partial_cmp(&score[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let best = *order.first()?;
    let second = *order.get(1)?;
    let (b, s) = (score[best], score[second]);
    if b < 1.0 || b - s < 0.5 {
        return None;
    }
    Lang::ALL.get(best).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_languages() {
        let cases = [
            (
                "Jeg hedder Søren og jeg vil gerne høre om min pakke",
                Lang::Da,
            ),
            ("Jag heter Anna och jag har inte fått mitt paket", Lang::Sv),
            (
                "Jeg heter Nora og jeg har ikke fått pakken min ennå",
                Lang::Nb,
            ),
            (
                "Nimeni on Matti ja soitan laskusta, en ole saanut pakettia",
                Lang::Fi,
            ),
            (
                "Minu nimi on Triin ja ma helistan arve pärast, pakk pole kohale jõudnud",
                Lang::Et,
            ),
            (
                "Ich heiße Lukas und ich habe mein Paket nicht bekommen",
                Lang::De,
            ),
            (
                "My name is Paul and I have not received my parcel yet",
                Lang::En,
            ),
        ];
        for (t, l) in cases {
            assert_eq!(detect(t), Some(l), "{t}");
        }
    }

    #[test]
    fn unsure_on_nothing() {
        assert_eq!(detect(""), None);
        assert_eq!(detect("4571 2345 6789"), None);
        assert_eq!(detect("ok"), None);
    }
}
