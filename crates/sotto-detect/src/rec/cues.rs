//! Context cue words of all seven languages in one Aho-Corasick automaton.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
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
    "kortnummer", "kortnumret", "kortnummeret", "kortnr", "kortet", "kortets", "kort", "kortti", "kortin",
    "korttinumero", "kortinnumero", "kaardi", "kaart", "kaardinumber", "kartennummer", "karte", "kreditkarte",
    "kreditkartennummer", "card", "visa", "mastercard", "maestro", "dankort", "amex", "american express",
    "betalingskort", "betalkort", "kreditkort", "debitkort", "bankkort", "luottokortti", "pankkikortti",
    "krediitkaart", "pangakaart", "seksten cifre", "sexton siffror", "seksten sifre", "seksten siffer",
    "kuusitoista numeroa", "sixteen digits", "16 digits", "long number", "kortnummern", "kartenummer",
];
const CVC: &[&str] = &[
    "cvc", "cvv", "cvc2", "cvv2", "cvn", "kontrolcifre", "kontrolcifrene", "kontrolcifferet", "kontrolnummer",
    "sikkerhedskode", "sikkerhedskoden", "sikkerhetskode", "sikkerhetskoden", "säkerhetskod", "säkerhetskoden",
    "kontrollsiffror", "kontrollsiffrorna", "turvakoodi", "turvakoodin", "tarkistusnumero", "turvakood", "turvakoodi",
    "kontrollkood", "prüfziffer", "prüfziffern", "prüfnummer", "kartenprüfnummer", "sicherheitscode",
    "sicherheitsnummer", "security code", "card verification", "verification code", "three digits",
    "3 digits", "three numbers", "tre cifre", "tre siffror", "siffrorna på baksidan", "tre sifrene",
    "tre siffer", "tre sifre", "kolme numeroa", "kolme niinku numeroa", "takana", "takapuolen", "takapuolella",
    "bagsiden", "bag på", "baksidan", "baksiden", "bak på", "rückseite", "hinten", "tagaküljel",
    "tagakülje", "kolm numbrit", "kolm numbrit", "on the back", "drei ziffern", "dreistellige",
];
const EXPIRY: &[&str] = &[
    "udløbsdato", "udløbsdatoen", "udløber", "udløb", "gyldig til", "gyldigt til", "gyldig", "utgångsdatum",
    "utgångsdatumet", "går ut", "gäller till", "giltig till", "giltigt till", "utløpsdato", "utløpsdatoen",
    "utløper", "utløp", "voimassa", "vanhenee", "vanhentuu", "viimeinen voimassaolopäivä", "kehtiv kuni",
    "kehtib kuni", "kehtivusaeg", "kehtivus", "aegub", "gültig bis", "gültig", "ablaufdatum", "läuft",
    "verfällt", "verfallsdatum", "expiry", "expires", "expire", "expiration", "exp", "valid until",
    "valid thru", "valid through", "valid till", "end date",
];
const ID: &[&str] = &[
    "cpr", "cpr-nummer", "cpr-nummeret", "cpr nummer", "personnummer", "personnumret", "personnummeret",
    "personummer", "samordningsnummer", "fødselsnummer", "fødselsnummeret", "fødselsnummeret", "d-nummer",
    "henkilötunnus", "henkilötunnukse", "henkilötunnukseni", "hetu", "sotu", "isikukood", "isikukoodi",
    "steuer-id", "steuerid", "steuer id", "steuerliche identifikationsnummer", "identifikationsnummer",
    "steueridentifikationsnummer", "steuernummer", "tax id", "tax identification", "national id",
    "national identity", "id number", "id code", "id-code", "personal number", "personal identity",
    "personal code", "social security", "personal identification", "identity number", "personal id",
    "id-nummer", "id-nummeret", "idnummer", "personal identification number",
];
const PHONE: &[&str] = &[
    "telefon", "telefonnummer", "telefonnumret", "telefonnummeret", "telefonnumero", "telefoninumero",
    "puhelin", "puhelinnumero", "puhelinnumeroni", "numeroon", "numeroni", "numerooni", "mobil",
    "mobilnummer", "mobilnummeret", "mobilnumret", "mobile", "handy", "handynummer", "phone", "telephone",
    "call me", "ring me", "reach me", "text me", "ringe på", "ringa på", "ring på", "ring mig", "ring meg",
    "ringe til", "soittaa", "soita", "soitella", "tavoittaa", "erreichen mich", "erreichen sie mich",
    "erreichbar", "rufen sie", "anrufen", "zurückrufen", "helistage", "helista", "helistada", "telefoni",
    "telefoninumber", "mobiil", "mobiili", "mobiilinumber", "mobiilinumero", "numbril", "numbrile", "tel",
    "tlf", "mob", "kontaktnummer", "rückrufnummer", "festnetz", "landline", "cell", "callback",
];
const NUMBER: &[&str] = &["nummer", "number", "numero", "numeroni", "nummeret", "nummern", "numret", "numbrit", "number on", "nr"];
const DOB: &[&str] = &[
    "født", "fødselsdato", "fødselsdatoen", "fødselsdag", "född", "födelsedatum", "födelsedag", "fødd",
    "syntynyt", "synnyin", "syntymäaika", "syntymäaikani", "syntymäpäivä", "sündinud", "sündisin",
    "sünnikuupäev", "sünniaeg", "sünnipäev", "geboren", "geburtsdatum", "geburtstag", "date of birth",
    "birth date", "birthdate", "birth", "birthday", "born", "d.o.b", "dob", "of birth", "fødselsår",
];
const IBAN: &[&str] = &[
    "iban", "kontonummer", "kontonumret", "kontonummeret", "tilinumero", "tilinumeroni", "kontonumber",
    "konto", "account number", "bank account", "kontoverbindung", "bankkonto", "pangakonto", "arvelduskonto",
];
const NEG: &[&str] = &[
    "order", "ordre", "ordrenummer", "ordrenummeret", "ordernummer", "ordernumret", "bestellnummer",
    "bestellung", "tilaus", "tilausnumero", "tilauksen", "tellimus", "tellimuse", "tracking", "trackingnummer",
    "spårningsnummer", "sporingsnummer", "sporingsnummeret", "seurantanumero", "sendungsnummer", "sendung",
    "jälgimisnumber", "jälgimiskood", "reference", "referenz", "referens", "referensen", "referanse",
    "referansen", "referencenummer", "referencenummeret", "reference number", "viite", "viitenumero",
    "viitenumber", "invoice", "faktura", "fakturanummer", "fakturanummeret", "fakturanumret", "rechnung",
    "rechnungsnummer", "lasku", "laskun", "laskunumero", "arve", "arve number", "case", "sagsnummer",
    "sagsnummeret", "ärendenummer", "ärendenumret", "ärende", "saksnummer", "saksnummeret", "aktenzeichen",
    "asianumero", "toimiku", "toimikunumber", "kundennummer", "kundenummer", "kundenummeret", "kundnummer",
    "kundnumret", "asiakasnumero", "kliendinumber", "customer number", "price", "pris", "prisen", "preis",
    "hinta", "hind", "costs", "koster", "kostar", "kostet", "maksaa", "maksab", "betrag", "beløb",
    "beløbet", "belopp", "beløp", "summa", "summe", "amount", "parcel", "pakke", "paket", "paketti",
    "pakk", "shipment", "forsendelse", "försändelse", "lähetys", "saadetis", "serial", "serienummer",
    "ticket", "billet", "booking", "bestilling", "bokning", "varaus", "broneering", "buchung",
    "policy", "police", "polise", "vakuutus", "kindlustus", "försäkring", "forsikring", "versicherung",
    "kundennr", "artikel", "artikkel", "artikkeli", "vare", "vara", "ware", "model", "modell",
];
const REPEAT: &[&str] = &[
    "gentager", "jeg gentager", "så det er", "upprepar", "jag upprepar", "så det är", "gjentar", "jeg gjentar",
    "så det er", "toistan", "eli", "kordan", "nii et", "wiederhole", "ich wiederhole", "also", "repeat",
    "so that's", "that's", "let me repeat",
];

pub struct Cues {
    ac: AhoCorasick,
    kinds: Vec<(Cue, bool)>,
}

pub static CUES: Lazy<Option<Cues>> = Lazy::new(|| {
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
    let ac = AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&pats).ok()?;
    Some(Cues { ac, kinds })
});

/// Cue hits in a lowercase line, in order.
pub fn find(lower: &str, out: &mut Vec<CueHit>) {
    out.clear();
    let Some(c) = CUES.as_ref() else { return };
    let b = lower.as_bytes();
    for m in c.ac.find_iter(lower) {
        let (s, e) = (m.start(), m.end());
        let Some(&(cue, whole)) = c.kinds.get(m.pattern().as_usize()) else { continue };
        if s > 0 && lower.get(..s).and_then(|x| x.chars().next_back()).is_some_and(|ch| ch.is_alphanumeric()) {
            continue;
        }
        if whole && b.get(e).is_some_and(|&x| x.is_ascii_alphanumeric() || x >= 0x80) {
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
