//! Context cue words of all seven languages in one Aho-Corasick automaton.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{dfa::DFA, Anchored, MatchKind, PatternID};
use once_cell::sync::Lazy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    Card,
    Cvc,
    Expiry,
    Id,
    Phone,
    /// "nummer", "number", "numero": a phone only when nothing more specific is near
    Number,
    Dob,
    Iban,
    /// order, tracking, reference, invoice, case numbers, prices: not personal data
    Neg,
    /// "I repeat", "so that's": the agent reads a value back
    Repeat,
}

#[derive(Debug, Clone, Copy)]
pub struct CueHit {
    pub s: usize,
    pub e: usize,
    pub cue: Cue,
}

const CARD: &[&str] = &[
    "kortnummer",
    "kortnumret",
    "kortnummeret",
    "kortnr",
    "kortet",
    "kortets",
    "kort",
    "kortti",
    "kortin",
    "korttinumero",
    "kortinnumero",
    "kaardi",
    "kaart",
    "kaardinumber",
    "kartennummer",
    "karte",
    "kreditkarte",
    "kreditkartennummer",
    "card",
    "visa",
    "mastercard",
    "maestro",
    "dankort",
    "amex",
    "american express",
    "betalingskort",
    "betalkort",
    "kreditkort",
    "debitkort",
    "bankkort",
    "luottokortti",
    "pankkikortti",
    "krediitkaart",
    "pangakaart",
    "seksten cifre",
    "sexton siffror",
    "seksten sifre",
    "seksten siffer",
    "kuusitoista numeroa",
    "sixteen digits",
    "16 digits",
    "long number",
    "kortnummern",
    "kartenummer",
];
const CVC: &[&str] = &[
    "cvc",
    "cvv",
    "cvc2",
    "cvv2",
    "cvn",
    "kontrolcifre",
    "kontrolcifrene",
    "kontrolcifferet",
    "kontrolnummer",
    "sikkerhedskode",
    "sikkerhedskoden",
    "sikkerhetskode",
    "sikkerhetskoden",
    "säkerhetskod",
    "säkerhetskoden",
    "kontrollsiffror",
    "kontrollsiffrorna",
    "turvakoodi",
    "turvakoodin",
    "tarkistusnumero",
    "turvakood",
    "turvakoodi",
    "kontrollkood",
    "prüfziffer",
    "prüfziffern",
    "prüfnummer",
    "kartenprüfnummer",
    "sicherheitscode",
    "sicherheitsnummer",
    "security code",
    "card verification",
    "verification code",
    "three digits",
    "3 digits",
    "three numbers",
    "tre cifre",
    "tre siffror",
    "siffrorna på baksidan",
    "tre sifrene",
    "tre siffer",
    "tre sifre",
    "kolme numeroa",
    "kolme niinku numeroa",
    "takana",
    "takapuolen",
    "takapuolella",
    "bagsiden",
    "bag på",
    "baksidan",
    "baksiden",
    "bak på",
    "rückseite",
    "hinten",
    "tagaküljel",
    "tagakülje",
    "kolm numbrit",
    "kolm numbrit",
    "on the back",
    "drei ziffern",
    "dreistellige",
];
const EXPIRY: &[&str] = &[
    "udløbsdato",
    "udløbsdatoen",
    "udløber",
    "udløb",
    "gyldig til",
    "gyldigt til",
    "gyldig",
    "utgångsdatum",
    "utgångsdatumet",
    "går ut",
    "gäller till",
    "giltig till",
    "giltigt till",
    "utløpsdato",
    "utløpsdatoen",
    "utløper",
    "utløp",
    "voimassa",
    "vanhenee",
    "vanhentuu",
    "viimeinen voimassaolopäivä",
    "kehtiv kuni",
    "kehtib kuni",
    "kehtivusaeg",
    "kehtivus",
    "aegub",
    "gültig bis",
    "gültig",
    "ablaufdatum",
    "läuft",
    "verfällt",
    "verfallsdatum",
    "expiry",
    "expires",
    "expire",
    "expiration",
    "exp",
    "valid until",
    "valid thru",
    "valid through",
    "valid till",
    "end date",
];
const ID: &[&str] = &[
    "cpr",
    "cpr-nummer",
    "cpr-nummeret",
    "cpr nummer",
    "personnummer",
    "personnumret",
    "personnummeret",
    "personummer",
    "samordningsnummer",
    "fødselsnummer",
    "fødselsnummeret",
    "fødselsnummeret",
    "d-nummer",
    "henkilötunnus",
    "henkilötunnukse",
    "henkilötunnukseni",
    "hetu",
    "sotu",
    "isikukood",
    "isikukoodi",
    "steuer-id",
    "steuerid",
    "steuer id",
    "steuerliche identifikationsnummer",
    "identifikationsnummer",
    "steueridentifikationsnummer",
    "steuernummer",
    "tax id",
    "tax identification",
    "national id",
    "national identity",
    "id number",
    "id code",
    "id-code",
    "personal number",
    "personal identity",
    "personal code",
    "social security",
    "personal identification",
    "identity number",
    "personal id",
    "id-nummer",
    "id-nummeret",
    "idnummer",
    "personal identification number",
];
const PHONE: &[&str] = &[
    "telefon",
    "telefonnummer",
    "telefonnumret",
    "telefonnummeret",
    "telefonnumero",
    "telefoninumero",
    "puhelin",
    "puhelinnumero",
    "puhelinnumeroni",
    "numeroon",
    "numeroni",
    "numerooni",
    "mobil",
    "mobilnummer",
    "mobilnummeret",
    "mobilnumret",
    "mobile",
    "handy",
    "handynummer",
    "phone",
    "telephone",
    "call me",
    "nå mig",
    "når mig",
    "nås på",
    "ringa mig",
    "nå meg",
    "når meg",
    "treffe meg",
    "treffes på",
    "tavoitat",
    "tavoittaa minut",
    "erreichen unter",
    "ring me",
    "reach me",
    "text me",
    "ringe på",
    "ringa på",
    "ring på",
    "ring mig",
    "ring meg",
    "ringe til",
    "ring til mig",
    "ringe til mig",
    "ring tilbage",
    "soittaa",
    "soita",
    "soitella",
    "tavoittaa",
    "erreichen mich",
    "erreichen sie mich",
    "erreichbar",
    "rufen sie",
    "anrufen",
    "zurückrufen",
    "helistage",
    "helista",
    "helistada",
    "telefoni",
    "telefoninumber",
    "mobiil",
    "mobiili",
    "mobiilinumber",
    "mobiilinumero",
    "numbril",
    "numbrile",
    "tel",
    "tlf",
    "mob",
    "kontaktnummer",
    "rückrufnummer",
    "festnetz",
    "landline",
    "cell",
    "callback",
];
const NUMBER: &[&str] = &[
    "nummer",
    "number",
    "numero",
    "numeroni",
    "nummeret",
    "nummern",
    "numret",
    "numbrit",
    "number on",
    "nr",
];
const DOB: &[&str] = &[
    "født",
    "fødselsdato",
    "fødselsdatoen",
    "fødselsdag",
    "född",
    "födelsedatum",
    "födelsedag",
    "fødd",
    "syntynyt",
    "synnyin",
    "syntymäaika",
    "syntymäaikani",
    "syntymäpäivä",
    "sündinud",
    "sündisin",
    "sünnikuupäev",
    "sünniaeg",
    "sünnipäev",
    "geboren",
    "geburtsdatum",
    "geburtstag",
    "date of birth",
    "birth date",
    "birthdate",
    "birth",
    "birthday",
    "born",
    "d.o.b",
    "dob",
    "of birth",
    "fødselsår",
];
const IBAN: &[&str] = &[
    "iban",
    "kontonummer",
    "kontonumret",
    "kontonummeret",
    "tilinumero",
    "tilinumeroni",
    "kontonumber",
    "konto",
    "account number",
    "bank account",
    "kontoverbindung",
    "bankkonto",
    "pangakonto",
    "arvelduskonto",
];
const NEG: &[&str] = &[
    "member",
    "membership",
    "medlemsnummer",
    "medlemsnummeret",
    "medlemsnumret",
    "mitgliedsnummer",
    "jäsennumero",
    "liikmenumber",
    "item",
    "room",
    "flight",
    "seat",
    "platform",
    "perron",
    "zimmer",
    "huone",
    "rum",
    "rom",
    "bus",
    "bussen",
    "linje",
    "vuoro",
    "lend",
    "flug",
    "sitz",
    "plads",
    "plats",
    "sete",
    "istuin",
    "koht",
    "kontrakt",
    "contract",
    "vertrag",
    "sopimus",
    "leping",
    "order",
    "ordre",
    "ordrenummer",
    "ordrenummeret",
    "ordernummer",
    "ordernumret",
    "bestellnummer",
    "beställning",
    "beställningen",
    "beställningsnummer",
    "bestilling",
    "bestillingen",
    "bestillingsnummer",
    "bestillingsnummeret",
    "bestellung",
    "tilaus",
    "tilausnumero",
    "tilauksen",
    "tellimus",
    "tellimuse",
    "tracking",
    "trackingnummer",
    "spårningsnummer",
    "sporingsnummer",
    "sporingsnummeret",
    "seurantanumero",
    "sendungsnummer",
    "sendung",
    "jälgimisnumber",
    "jälgimiskood",
    "reference",
    "referenz",
    "referens",
    "referensen",
    "referanse",
    "referansen",
    "referencenummer",
    "referencenummeret",
    "reference number",
    "viite",
    "viitenumero",
    "viitenumber",
    "invoice",
    "faktura",
    "fakturanummer",
    "fakturanummeret",
    "fakturanumret",
    "rechnung",
    "rechnungsnummer",
    "lasku",
    "laskun",
    "laskunumero",
    "arve",
    "arve number",
    "case",
    "sagsnummer",
    "sagsnummeret",
    "ärendenummer",
    "ärendenumret",
    "ärende",
    "saksnummer",
    "saksnummeret",
    "aktenzeichen",
    "asianumero",
    "toimiku",
    "toimikunumber",
    "kundennummer",
    "kundenummer",
    "kundenummeret",
    "kundnummer",
    "kundnumret",
    "asiakasnumero",
    "kliendinumber",
    "customer number",
    "price",
    "pris",
    "prisen",
    "preis",
    "hinta",
    "hind",
    "costs",
    "koster",
    "kostar",
    "kostet",
    "maksaa",
    "maksab",
    "betrag",
    "beløb",
    "beløbet",
    "belopp",
    "beløp",
    "summa",
    "summe",
    "amount",
    "parcel",
    "pakke",
    "paket",
    "paketti",
    "pakk",
    "shipment",
    "forsendelse",
    "försändelse",
    "lähetys",
    "saadetis",
    "serial",
    "serienummer",
    "ticket",
    "billet",
    "booking",
    "bestilling",
    "bokning",
    "varaus",
    "broneering",
    "buchung",
    "policy",
    "police",
    "polise",
    "vakuutus",
    "kindlustus",
    "försäkring",
    "forsikring",
    "versicherung",
    "kundennr",
    "artikel",
    "artikkel",
    "artikkeli",
    "vare",
    "vara",
    "ware",
    "model",
    "modell",
];
const REPEAT: &[&str] = &[
    "gentager",
    "jeg gentager",
    "så det er",
    "upprepar",
    "jag upprepar",
    "så det är",
    "gjentar",
    "jeg gjentar",
    "så det er",
    "toistan",
    "eli",
    "kordan",
    "nii et",
    "wiederhole",
    "ich wiederhole",
    "also",
    "repeat",
    "so that's",
    "that's",
    "let me repeat",
];

/// Bits of a byte class in a dense table index (the cue DFA has some 40 classes).
const CLASS_BITS: u32 = 6;
/// Entries of the dense table: a power of two, so that a masked index needs no bounds check;
/// room for 4,096 states (the cue DFA has some 2,700).
const DENSE: usize = 1 << 18;

pub struct Cues {
    /// The byte class of each byte (bytes no state tells apart share one).
    class: [u8; 256],
    /// The leftmost-longest DFA of the cues (built without a prefilter, so a start state is
    /// never special) as a dense table: the next state of state `s` on class `c` at `s | c`,
    /// states numbered in steps of 64, the dead state 0 and the match states next, so one
    /// comparison per byte tells the dead and match states from the rest. Walked byte by byte
    /// in [`find`]: a library search per match costs more in setup than the walk over a line.
    trans: Box<[u32; DENSE]>,
    start: u32,
    /// The highest match state.
    last_match: u32,
    /// Per match state, from the first: its first pattern and that pattern's length.
    matches: Vec<(PatternID, usize)>,
    kinds: Vec<(Cue, bool)>,
}

/// Every cue once (first list wins), with its kind and whether it must be a whole word.
fn patterns() -> (Vec<&'static str>, Vec<(Cue, bool)>) {
    let mut pats: Vec<&str> = Vec::new();
    let mut kinds = Vec::new();
    for (list, cue) in [
        (CARD, Cue::Card),
        (CVC, Cue::Cvc),
        (EXPIRY, Cue::Expiry),
        (ID, Cue::Id),
        (PHONE, Cue::Phone),
        (NUMBER, Cue::Number),
        (DOB, Cue::Dob),
        (IBAN, Cue::Iban),
        (NEG, Cue::Neg),
        (REPEAT, Cue::Repeat),
    ] {
        for p in list {
            if pats.contains(p) {
                continue;
            }
            pats.push(p);
            // short cues must be whole words ("tel" is not "tell", "kr" is not "krone")
            kinds.push((cue, p.chars().count() <= 4));
        }
    }
    (pats, kinds)
}

pub static CUES: Lazy<Option<Cues>> = Lazy::new(|| {
    let (pats, kinds) = patterns();
    let dfa = DFA::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .prefilter(false)
        .build(&pats)
        .ok()?;
    Cues::dense(&dfa, kinds)
});

impl Cues {
    /// The states reachable from the unanchored start state re-numbered into the dense table;
    /// `None` where they do not fit (a test checks that they do).
    fn dense(dfa: &DFA, kinds: Vec<(Cue, bool)>) -> Option<Cues> {
        let start = dfa.start_state(Anchored::No).ok()?;
        let next = |s: StateID, b: u8| dfa.next_state(Anchored::No, s, b);
        let reached = crate::dense::Reached::new(dfa, start, |_| true)?;
        let states = &reached.states;
        // dead 0, then the match states, then the rest
        let mut order: Vec<StateID> = states
            .iter()
            .copied()
            .filter(|&s| dfa.is_match(s))
            .collect();
        let last_match = order.len();
        order.extend(
            states
                .iter()
                .copied()
                .filter(|&s| !dfa.is_match(s) && !dfa.is_dead(s)),
        );
        if (order.len() + 1) << CLASS_BITS > DENSE {
            return None;
        }
        // the dense number of each reached state, by its position in `states`
        let mut id = vec![0u32; states.len()];
        for (k, &s) in order.iter().enumerate() {
            *id.get_mut(reached.index(s)?)? = u32::try_from(k + 1).ok()? << CLASS_BITS;
        }
        let id_of = |s: StateID| id.get(reached.index(s)?).copied();
        // byte classes: bytes with the same next state from every state
        let (class, firsts) =
            crate::dense::byte_classes(|b| Some(states.iter().map(|&s| next(s, b)).collect()))?;
        if firsts.len() > 1 << CLASS_BITS {
            return None;
        }
        let mut trans: Box<[u32; DENSE]> = vec![0u32; DENSE].into_boxed_slice().try_into().ok()?;
        for &s in states {
            let from = id_of(s)?;
            // every byte of a class has the same next state: its first byte stands for it
            for (c, &b) in firsts.iter().enumerate() {
                let at = (from | u32::try_from(c).ok()?) as usize;
                *trans.get_mut(at)? = id_of(next(s, b))?;
            }
        }
        let matches = order
            .get(..last_match)?
            .iter()
            .map(|&s| {
                let pid = dfa.match_pattern(s, 0);
                (pid, dfa.pattern_len(pid))
            })
            .collect();
        Some(Cues {
            class,
            trans,
            start: id_of(start)?,
            last_match: u32::try_from(last_match).ok()? << CLASS_BITS,
            matches,
            kinds,
        })
    }

    /// The first match at or after `at` as the library's non-overlapping search reports it
    /// (`try_find_fwd_imp`): from the unanchored start state until the dead state (no longer
    /// match can follow) or the end, keeping the last match state's first pattern. No pattern
    /// is empty, so the start state is no match and no match is empty.
    #[inline]
    fn next_match(&self, b: &[u8], at: usize) -> Option<(usize, usize, PatternID)> {
        let (class, trans, last_match) = (&self.class, &*self.trans, self.last_match);
        let rest = b.get(at..)?;
        let mut bytes = rest.iter();
        let mut sid = self.start;
        // the last match state and the bytes walked up to it
        let (mut walked, mut found) = (0, 0);
        loop {
            // ordinary states in a tight loop of their own: the first dead or match state
            // (rare) ends it
            for &x in bytes.by_ref() {
                sid = trans[(sid | u32::from(class[usize::from(x)])) as usize & (DENSE - 1)];
                if sid <= last_match {
                    break;
                }
            }
            // the end of the line in an ordinary state, or the dead state
            if sid > last_match || sid == 0 {
                break;
            }
            (walked, found) = (rest.len() - bytes.len(), sid);
            if bytes.as_slice().is_empty() {
                break;
            }
        }
        let &(pid, len) = self
            .matches
            .get(((found >> CLASS_BITS) as usize).checked_sub(1)?)?;
        let e = at + walked;
        Some((e.checked_sub(len)?, e, pid))
    }

    /// The matches of `find_iter`: each search starts where the previous match ended.
    fn matches<'a>(&'a self, b: &'a [u8]) -> impl Iterator<Item = (usize, usize, PatternID)> + 'a {
        let mut at = 0;
        std::iter::from_fn(move || {
            let m = self.next_match(b, at)?;
            at = m.1;
            Some(m)
        })
    }
}

/// Cue hits in a lowercase line, in order.
pub fn find(lower: &str, out: &mut Vec<CueHit>) {
    out.clear();
    let Some(c) = CUES.as_ref() else { return };
    let b = lower.as_bytes();
    for (s, e, pid) in c.matches(b) {
        let Some(&(cue, whole)) = c.kinds.get(pid.as_usize()) else {
            continue;
        };
        if s > 0
            && lower
                .get(..s)
                .and_then(|x| x.chars().next_back())
                .is_some_and(|ch| ch.is_alphanumeric())
        {
            continue;
        }
        if whole
            && b.get(e)
                .is_some_and(|&x| x.is_ascii_alphanumeric() || x >= 0x80)
        {
            continue;
        }
        out.push(CueHit { s, e, cue });
    }
}

/// The cues before byte `at`, nearest first, no further back than `max` bytes.
pub fn before(cues: &[CueHit], at: usize, max: usize) -> impl Iterator<Item = &CueHit> {
    let lo = at.saturating_sub(max);
    cues.iter().rev().filter(move |c| c.e <= at && c.e >= lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind};
    use proptest::prelude::*;

    /// The searcher the walk replaces.
    static REFERENCE: Lazy<aho_corasick::AhoCorasick> = Lazy::new(|| {
        let (pats, _) = patterns();
        AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(pats)
            .unwrap()
    });

    #[test]
    fn no_empty_pattern() {
        let (pats, _) = patterns();
        assert!(pats.iter().all(|p| !p.is_empty()));
        let c = CUES.as_ref().unwrap();
        assert!(c.start > c.last_match);
    }

    #[test]
    fn walk_finds_longest_cues() {
        let c = CUES.as_ref().unwrap();
        let text = "my kortnummeret is, cpr-nummer and the card verification code; tel";
        let got: Vec<_> = c.matches(text.as_bytes()).map(|(s, e, _)| (s, e)).collect();
        let want: Vec<_> = REFERENCE
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        assert_eq!(got, want);
        assert!(got.contains(&(3, 15)));
    }

    /// Pieces of cues (whole, heads, tails) and the bytes around them in a line.
    fn piece() -> impl Strategy<Value = String> {
        let (pats, _) = patterns();
        let cue = proptest::sample::select(pats).prop_flat_map(|p| {
            let n = p.chars().count();
            (0..=n, 0..=n).prop_map(move |(a, z)| {
                let (a, z) = (a.min(z), a.max(z));
                p.chars().skip(a).take(z - a).collect::<String>()
            })
        });
        prop_oneof![
            4 => cue,
            1 => "[ a-z0-9ä-]{1,3}",
            1 => proptest::sample::select(vec!["ø", "å", "ü", "é", "ß", "€", "ﬁ", "\u{300}"])
                .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #[test]
        fn walk_is_find_iter(parts in proptest::collection::vec(piece(), 0..12)) {
            let text: String = parts.concat();
            let c = CUES.as_ref().unwrap();
            let got: Vec<_> = c.matches(text.as_bytes()).collect();
            let want: Vec<_> = REFERENCE
                .find_iter(&text)
                .map(|m| (m.start(), m.end(), m.pattern()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
