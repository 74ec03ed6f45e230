//! A reproducible generator of call-transcript lines for the throughput benchmarks
//! (`benches/detect.rs`, `examples/throughput.rs`). Seeded, no I/O, no external data.
//!
//! Every line is one turn of a contact-centre call in one of the seven languages, usually with a
//! speaker label. The mix (`Mix::Calls`, the default) per line:
//!
//! | share | content                                                                 |
//! |-------|-------------------------------------------------------------------------|
//! | 52 %  | plain talk: greetings, opening hours, deliveries, small talk            |
//! | 10 %  | hard negatives with numbers: order/tracking/invoice numbers, prices     |
//! | 14 %  | personal numbers: cards (+ expiry/CVC), phones, national ids, IBANs — half in digits, half spoken word by word |
//! |  3 %  | e-mail addresses, written or spoken ("snabel-a", "dot")                 |
//! |  9 %  | person names after a cue, or first name + surname                       |
//! |  4 %  | street addresses with postcode and city                                 |
//! |  8 %  | special-category terms (health, religion, politics, union…), half personal, half impersonal |
//!
//! so about 38 % of lines carry something a recogniser must look at closely and about 30 % carry
//! digits or number words. `Mix::Dense` doubles the share of number lines (every other line), the
//! shape of the old `throughput` example. Names come from the shipped gazetteers.

#![allow(dead_code)]

use sotto_core::Lang;

/// What share of lines carry numbers and personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// The table above.
    Calls,
    /// Every other line carries a number (card, phone, id, IBAN, order number…).
    Dense,
}

/// SplitMix64: tiny, seeded, good enough for picking frames.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn digit(&mut self) -> u8 {
        self.below(10) as u8
    }
}

struct L {
    lang: Lang,
    agent: &'static str,
    caller: &'static str,
    units: [&'static str; 10],
    plain: &'static [&'static str],
    negative: &'static [&'static str],
    card: &'static [&'static str],
    phone: &'static [&'static str],
    id: &'static [&'static str],
    iban: &'static [&'static str],
    email: &'static [&'static str],
    at: &'static str,
    dot: &'static str,
    name: &'static [&'static str],
    address: &'static [&'static str],
    streets: &'static [&'static str],
    cities: &'static [&'static str],
    special: &'static [&'static str],
    terms: &'static [&'static str],
    first: &'static str,
    sur: &'static str,
}

const DA: L = L {
    lang: Lang::Da,
    agent: "Agent",
    caller: "Kunde",
    units: [
        "nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni",
    ],
    plain: &[
        "Goddag, du taler med Anna, hvad kan jeg hjælpe med i dag?",
        "Ja hej, jeg ringer angående min regning fra sidste måned, den virker lidt høj.",
        "Vi har åbent fra otte til fire på hverdage og lukket om søndagen.",
        "Øh ja, pakken kom aldrig frem, og jeg har ventet i over en uge nu.",
        "Tak for din tålmodighed, jeg kigger lige på sagen med det samme.",
        "Det er helt i orden, jeg har god tid i dag faktisk.",
        "Jamen så sender jeg en ny faktura til dig i løbet af eftermiddagen.",
        "Vejret har været forfærdeligt, så chaufføren kunne ikke komme igennem.",
    ],
    negative: &[
        "Dit ordrenummer er {ORDER} og beløbet er {PRICE} kroner.",
        "Sagsnummeret står øverst på brevet, det er {ORDER}.",
        "Pakken med sporingsnummer {ORDER} ankommer på torsdag.",
    ],
    card: &[
        "Mit kortnummer er {CARD}, og det udløber {EXP}.",
        "Ja, kortet er {CARD_SPOKEN}, og kontrolcifrene er {CVC}.",
    ],
    phone: &[
        "Du kan ringe til mig på {PHONE}.",
        "Mit mobilnummer er {PHONE_SPOKEN}, ring gerne efter fem.",
    ],
    id: &[
        "Mit CPR-nummer er {CPR}.",
        "cpr-nummeret er {CPR_SPOKEN} øh ja",
    ],
    iban: &["Mit kontonummer er {IBAN_DK}, det er i Danske Bank."],
    email: &[
        "Min mail er {LOCAL}@{DOMAIN}.dk, skriv bare der.",
        "Det er {LOCAL} snabel-a {DOMAIN} punkt dk.",
    ],
    at: "snabel-a",
    dot: "punkt",
    name: &[
        "Jeg hedder {FIRST} {SUR}, og jeg ringer om min ordre.",
        "Ja hej, det er {FIRST} her.",
        "Jeg taler med {FIRST} {SUR}, ikke?",
    ],
    address: &["Pakken skal sendes til {STREET} {NUM}, {ZIP4} {CITY}."],
    streets: &["Birkevej", "Søndergade", "Vestergade", "Nørrebrogade"],
    cities: &["Vejle", "Odense", "Aarhus", "København"],
    special: &[
        "Jeg har sukkersyge, så jeg skal have mine tabletter.",
        "Jeg er muslim, og jeg spiser ikke svinekød.",
        "Jeg er medlem af 3F og har været det i mange år.",
        "Vores apotek sælger insulin, men vi sender det ikke.",
        "Vi har lukket juledag og nytårsdag.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_da.txt"),
    sur: include_str!("../../data/names/surname_da.txt"),
};

const SV: L = L {
    lang: Lang::Sv,
    agent: "Agent",
    caller: "Kund",
    units: [
        "noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio",
    ],
    plain: &[
        "Vi har öppet från åtta till sex på vardagar och till ett på lördagar.",
        "Jag undrar bara om ni kan skicka fakturan igen, jag hittar den inte.",
        "Tack för att du väntade, jag ska kolla upp det direkt.",
        "Alltså paketet skulle ha kommit i tisdags men det har inte dykt upp.",
        "Det går bra, jag har tid hela eftermiddagen faktiskt.",
        "Ja precis, det var det jag menade, tack så mycket.",
        "Jag förstår, då skickar vi ett nytt paket redan i morgon.",
        "Hörs jag bra nu, det var lite dålig täckning här ute.",
    ],
    negative: &[
        "Ditt ordernummer är {ORDER} och beloppet är {PRICE} kronor.",
        "Ärendenumret är {ORDER}, spara det gärna.",
        "Fakturan på {PRICE} kronor har nummer {ORDER}.",
    ],
    card: &[
        "Kortnumret är {CARD} och det går ut {EXP}.",
        "Jag har kortet här, {CARD_SPOKEN}, säkerhetskoden är {CVC}.",
    ],
    phone: &[
        "Du når mig på {PHONE}.",
        "Mitt mobilnummer är {PHONE_SPOKEN}.",
    ],
    id: &[
        "Mitt personnummer är {PNR}.",
        "personnumret är {PNR_SPOKEN}",
    ],
    iban: &["Kontonumret är {IBAN_SE}."],
    email: &[
        "Mejla mig på {LOCAL}@{DOMAIN}.se.",
        "Det är {LOCAL} snabel-a {DOMAIN} punkt se.",
    ],
    at: "snabel-a",
    dot: "punkt",
    name: &[
        "Jag heter {FIRST} {SUR} och ringer om min beställning.",
        "Hej, det är {FIRST} som ringer.",
    ],
    address: &["Skicka det till {STREET} {NUM}, {ZIP3} {ZIP2} {CITY}."],
    streets: &["Storgatan", "Linnégatan", "Kungsgatan", "Drottninggatan"],
    cities: &["Göteborg", "Uppsala", "Malmö", "Stockholm"],
    special: &[
        "Jag har diabetes så jag måste äta regelbundet.",
        "Jag är med i Unionen sedan länge.",
        "Jag röstar på Vänsterpartiet, men det spelar ingen roll här.",
        "Apoteket säljer insulin men vi skickar inte det.",
        "Efter valet kom nya regler för moms.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_sv.txt"),
    sur: include_str!("../../data/names/surname_sv.txt"),
};

const NB: L = L {
    lang: Lang::Nb,
    agent: "Saksbehandler",
    caller: "Innringer",
    units: [
        "null", "en", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni",
    ],
    plain: &[
        "Takk for at du ventet, jeg skal se hva jeg kan gjøre med saken din.",
        "Vi har åpent fra åtte til fire på hverdager.",
        "Jeg har ikke fått pakken min ennå, og det er over en uke siden.",
        "Det er helt greit, jeg har god tid i dag.",
        "Liksom, jeg skjønner ikke hvorfor regningen ble så høy denne gangen.",
        "Da sender vi en ny pakke i morgen tidlig.",
        "Hører du meg nå, det var litt dårlig dekning her.",
        "Ja, det stemmer, tusen takk for hjelpen.",
    ],
    negative: &[
        "Ordrenummeret ditt er {ORDER} og beløpet er {PRICE} kroner.",
        "Saksnummeret er {ORDER}, ta vare på det.",
        "Sporingsnummeret {ORDER} viser at pakken er på vei.",
    ],
    card: &[
        "Kortnummeret er {CARD}, og det utløper {EXP}.",
        "Jeg har kortet her, {CARD_SPOKEN}, og sikkerhetskoden er {CVC}.",
    ],
    phone: &[
        "Du kan nå meg på {PHONE}.",
        "Mobilnummeret mitt er {PHONE_SPOKEN}.",
    ],
    id: &[
        "Fødselsnummeret mitt er {FNR}.",
        "fødselsnummer {FNR_SPOKEN}",
    ],
    iban: &["Kontonummeret mitt er {IBAN_NO}."],
    email: &[
        "E-posten min er {LOCAL}@{DOMAIN}.no.",
        "Det er {LOCAL} krøllalfa {DOMAIN} punktum no.",
    ],
    at: "krøllalfa",
    dot: "punktum",
    name: &[
        "Mitt navn er {FIRST} {SUR}, og jeg ringer om fakturaen.",
        "Hei, det er {FIRST} som ringer.",
    ],
    address: &["Send den til {STREET} {NUM}, {ZIP4} {CITY}."],
    streets: &[
        "Storgata",
        "Kirkeveien",
        "Thorvald Meyers gate",
        "Bygdøy allé",
    ],
    cities: &["Oslo", "Bergen", "Trondheim", "Stavanger"],
    special: &[
        "Jeg har stemt KrF hele livet.",
        "Jeg er gravid, så jeg kan ikke løfte tunge pakker.",
        "Jeg er medlem av Fellesforbundet.",
        "Apoteket vårt selger insulin, men vi sender det ikke.",
        "Etter stortingsvalget kom det nye regler for moms.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_nb.txt"),
    sur: include_str!("../../data/names/surname_nb.txt"),
};

const FI: L = L {
    lang: Lang::Fi,
    agent: "Asiakaspalvelija",
    caller: "Asiakas",
    units: [
        "nolla",
        "yksi",
        "kaksi",
        "kolme",
        "neljä",
        "viisi",
        "kuusi",
        "seitsemän",
        "kahdeksan",
        "yhdeksän",
    ],
    plain: &[
        "Selvä, tarkistan tilauksesi tiedot ja palaan asiaan hetken kuluttua.",
        "Olemme auki arkisin kahdeksasta neljään ja lauantaisin kymmenestä kahteen.",
        "Paketti ei ole vieläkään tullut, vaikka sen piti tulla jo tiistaina.",
        "Kiitos odottamisesta, katson asiaa heti.",
        "Niinku siis en ymmärrä miksi lasku on näin suuri tässä kuussa.",
        "Lähetämme uuden paketin huomenna aamulla.",
        "Kuuletko minua nyt, täällä on vähän huono kenttä.",
        "Joo, se on ihan hyvä, kiitos paljon avusta.",
    ],
    negative: &[
        "Tilausnumerosi on {ORDER} ja summa on {PRICE} euroa.",
        "Laskun numero on {ORDER}, se löytyy yläreunasta.",
        "Seurantanumero {ORDER} näyttää että paketti on matkalla.",
    ],
    card: &[
        "Kortin numero on {CARD} ja se vanhenee {EXP}.",
        "Korttinumero on {CARD_SPOKEN}, turvakoodi {CVC}.",
    ],
    phone: &[
        "Minut tavoittaa numerosta {PHONE}.",
        "Puhelinnumeroni on {PHONE_SPOKEN}.",
    ],
    id: &["Henkilötunnukseni on {HETU}.", "hetu on {HETU}"],
    iban: &["Tilinumeroni on {IBAN_FI}."],
    email: &[
        "Sähköpostini on {LOCAL}@{DOMAIN}.fi.",
        "Se on {LOCAL} ät {DOMAIN} piste fi.",
    ],
    at: "ät",
    dot: "piste",
    name: &[
        "Nimeni on {FIRST} {SUR} ja soitan laskusta.",
        "Hei, täällä {FIRST} {SUR}.",
    ],
    address: &["Lähettäkää se osoitteeseen {STREET} {NUM}, {ZIP5} {CITY}."],
    streets: &[
        "Aleksanterinkatu",
        "Hämeenkatu",
        "Mannerheimintie",
        "Kauppakatu",
    ],
    cities: &["Helsinki", "Tampere", "Turku", "Oulu"],
    special: &[
        "Minulla on diabetes, joten tarvitsen lääkkeeni ajoissa.",
        "Olen ortodoksi ja paastoan nyt.",
        "Kuulun ammattiliitto Proon.",
        "Apteekkimme myy insuliinia, mutta emme lähetä sitä.",
        "Vaalien jälkeen tuli uusia sääntöjä.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_fi.txt"),
    sur: include_str!("../../data/names/surname_fi.txt"),
};

const ET: L = L {
    lang: Lang::Et,
    agent: "Klienditeenindaja",
    caller: "Klient",
    units: [
        "null", "üks", "kaks", "kolm", "neli", "viis", "kuus", "seitse", "kaheksa", "üheksa",
    ],
    plain: &[
        "Tänan, kas ma saan veel millegagi aidata?",
        "Oleme avatud tööpäeviti kaheksast neljani ja laupäeviti kella üheni.",
        "Pakk pole siiani kohale jõudnud, kuigi pidi teisipäeval tulema.",
        "Aitäh ootamast, ma vaatan selle kohe üle.",
        "Noh, ma ei saa aru, miks arve nii suur on sel kuul.",
        "Saadame homme hommikul uue paki teele.",
        "Kas te kuulete mind nüüd, siin on natuke halb levi.",
        "Jah, see on täiesti korras, suur aitäh abi eest.",
    ],
    negative: &[
        "Teie tellimuse number on {ORDER} ja summa on {PRICE} eurot.",
        "Arve number on {ORDER}, see on ülal paremal.",
        "Jälgimisnumber {ORDER} näitab, et pakk on teel.",
    ],
    card: &[
        "Kaardi number on {CARD} ja see aegub {EXP}.",
        "Kaart on {CARD_SPOKEN}, turvakood {CVC}.",
    ],
    phone: &[
        "Minu number on {PHONE}, helistage palun pärast viit.",
        "Mobiilinumber on {PHONE_SPOKEN}.",
    ],
    id: &["Minu isikukood on {IK}.", "isikukood {IK}"],
    iban: &["Minu kontonumber on {IBAN_EE}."],
    email: &[
        "Minu e-post on {LOCAL}@{DOMAIN}.ee.",
        "See on {LOCAL} ät {DOMAIN} punkt ee.",
    ],
    at: "ät",
    dot: "punkt",
    name: &[
        "Minu nimi on {FIRST} {SUR} ja ma helistan arve pärast.",
        "Tere, siin {FIRST} {SUR}.",
    ],
    address: &["Saatke see aadressile {STREET} {NUM}, {ZIP5} {CITY}."],
    streets: &["Tamme tn", "Pikk tänav", "Narva mnt", "Kase tn"],
    cities: &["Tallinn", "Tartu", "Pärnu", "Narva"],
    special: &[
        "Mul on diabeet, seega pean regulaarselt sööma.",
        "Ma kuulun eesti haridustöötajate liitu.",
        "Ma olen luterlane ja käin kirikus.",
        "Meie apteek müüb insuliini, aga me ei saa neid postiga saata.",
        "Pärast valimisi tulid uued reeglid.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_et.txt"),
    sur: include_str!("../../data/names/surname_et.txt"),
};

const DE: L = L {
    lang: Lang::De,
    agent: "Mitarbeiterin",
    caller: "Anrufer",
    units: [
        "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
    ],
    plain: &[
        "Vielen Dank für Ihre Geduld, ich schaue mir das gleich an.",
        "Wir haben werktags von acht bis achtzehn Uhr geöffnet.",
        "Das Paket ist immer noch nicht angekommen, obwohl es Dienstag kommen sollte.",
        "Ähm ja, genau, ich wollte nur wissen, wann die Rechnung kommt.",
        "Kein Problem, ich habe heute Nachmittag Zeit.",
        "Dann schicken wir Ihnen morgen früh ein neues Paket.",
        "Hören Sie mich jetzt, der Empfang ist hier etwas schlecht.",
        "Ja, das stimmt so, vielen Dank für die Hilfe.",
    ],
    negative: &[
        "Ihre Bestellnummer ist {ORDER} und der Betrag ist {PRICE} Euro.",
        "Das Aktenzeichen lautet {ORDER}.",
        "Die Sendungsnummer {ORDER} zeigt, dass das Paket unterwegs ist.",
    ],
    card: &[
        "Meine Kartennummer ist {CARD} und sie ist gültig bis {EXP}.",
        "Die Kreditkarte ist {CARD_SPOKEN}, Prüfziffer {CVC}.",
    ],
    phone: &[
        "Sie erreichen mich unter {PHONE}.",
        "Meine Handynummer ist {PHONE_SPOKEN}.",
    ],
    id: &["Meine Steuer-ID ist {STID}.", "steuer id {STID}"],
    iban: &["Also, meine IBAN ist {IBAN_DE}, bitte überweisen Sie dorthin."],
    email: &[
        "Meine E-Mail ist {LOCAL}@{DOMAIN}.de.",
        "Das ist {LOCAL} at {DOMAIN} punkt de.",
    ],
    at: "at",
    dot: "punkt",
    name: &[
        "Ich heiße {FIRST} {SUR} und rufe wegen meiner Bestellung an.",
        "Hallo, hier ist {FIRST} {SUR}.",
    ],
    address: &["Bitte an {STREET} {NUM}, {ZIP5} {CITY} schicken."],
    streets: &["Hauptstraße", "Bahnhofstraße", "Am Markt", "Lindenallee"],
    cities: &["Berlin", "Hamburg", "München", "Köln"],
    special: &[
        "Ich bin Diabetiker und brauche meine Medikamente pünktlich.",
        "Ich bin Zeuge Jehovas, wir feiern keine Geburtstage.",
        "Ich bin Mitglied bei ver.di.",
        "Unsere Apotheke verkauft Insulin, aber wir versenden es nicht.",
        "Nach der Wahl kamen neue Regeln.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_de.txt"),
    sur: include_str!("../../data/names/surname_de.txt"),
};

const EN: L = L {
    lang: Lang::En,
    agent: "Advisor",
    caller: "Caller",
    units: [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ],
    plain: &[
        "Thanks for holding, I can see the order was dispatched yesterday afternoon.",
        "Okay so the weather has been terrible all week and the van could not get through.",
        "We are open from eight to six on weekdays and closed on Sundays.",
        "Um yeah, I just wanted to know when the new bill is coming.",
        "No problem at all, I have time this afternoon.",
        "Then we will send you a new parcel first thing tomorrow.",
        "Can you hear me now, the signal is a bit weak out here.",
        "Yes, that's right, thank you so much for your help.",
    ],
    negative: &[
        "Your order number is {ORDER} and the amount is {PRICE} pounds.",
        "The tracking number is {ORDER}, you can follow the parcel on the website.",
        "Invoice {ORDER} was for {PRICE} pounds.",
    ],
    card: &[
        "My card number is {CARD} and it expires {EXP}.",
        "I've got the card here, {CARD_SPOKEN}, and the security code is {CVC}.",
    ],
    phone: &[
        "You can reach me on {PHONE}.",
        "My mobile is {PHONE_SPOKEN}.",
    ],
    id: &["My date of birth is the {DOB_EN}.", "born {DATE}"],
    iban: &["My IBAN is {IBAN_GB}."],
    email: &[
        "Send it to {LOCAL}@{DOMAIN}.com please.",
        "It's {LOCAL} at {DOMAIN} dot com.",
    ],
    at: "at",
    dot: "dot",
    name: &[
        "My name is {FIRST} {SUR} and I'm calling about my order.",
        "Hi, this is {FIRST} {SUR}.",
    ],
    address: &["Please send it to {NUM} {STREET}, {CITY} {UKPC}."],
    streets: &[
        "Station Road",
        "High Street",
        "Church Lane",
        "Victoria Avenue",
    ],
    cities: &["Leeds", "Bristol", "Manchester", "Cardiff"],
    special: &[
        "I have diabetes so I need my insulin on time.",
        "I'm a Catholic so I won't be available on Sunday.",
        "I vote Labour, but that's got nothing to do with it.",
        "Our pharmacy sells insulin but we cannot post it.",
        "We are closed on Christmas Day.",
    ],
    terms: &[],
    first: include_str!("../../data/names/first_en.txt"),
    sur: include_str!("../../data/names/surname_en.txt"),
};

const LANGS: [&L; 7] = [&DA, &SV, &NB, &FI, &ET, &DE, &EN];

fn names(src: &'static str) -> Vec<&'static str> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn luhn_complete(d: &mut Vec<u8>) {
    // append the check digit
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    d.push(((10 - sum % 10) % 10) as u8);
}

fn digits_str(d: &[u8]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

/// A generator of transcript lines.
pub struct Gen {
    rng: Rng,
    mix: Mix,
    first: Vec<Vec<&'static str>>,
    sur: Vec<Vec<&'static str>>,
}

impl Gen {
    pub fn new(seed: u64, mix: Mix) -> Self {
        Self {
            rng: Rng::new(seed),
            mix,
            first: LANGS.iter().map(|l| names(l.first)).collect(),
            sur: LANGS.iter().map(|l| names(l.sur)).collect(),
        }
    }

    fn digits(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.rng.digit()).collect()
    }

    fn spoken(&mut self, l: &L, d: &[u8]) -> String {
        let mut s = String::new();
        for (i, &x) in d.iter().enumerate() {
            if i > 0 {
                s.push(' ');
                if i % 4 == 0 && self.rng.below(4) == 0 {
                    s.push_str(self.rng.pick(&["øh ", "ähm ", "um ", "öö ", "eh "]));
                }
            }
            s.push_str(l.units[usize::from(x)]);
        }
        s
    }

    fn card(&mut self) -> Vec<u8> {
        let mut d = vec![self.rng.pick(&[4u8, 5])];
        d.extend(self.digits(14));
        luhn_complete(&mut d);
        d
    }

    fn grouped(&mut self, d: &[u8], by: usize) -> String {
        let mut s = String::new();
        for (i, c) in d.chunks(by).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&digits_str(c));
        }
        s
    }

    fn date6(&mut self) -> String {
        format!(
            "{:02}{:02}{:02}",
            1 + self.rng.below(28),
            1 + self.rng.below(12),
            self.rng.below(100)
        )
    }

    fn fill(&mut self, li: usize, l: &L, frame: &str) -> String {
        let mut out = String::with_capacity(frame.len() + 40);
        let mut rest = frame;
        while let Some(p) = rest.find('{') {
            out.push_str(&rest[..p]);
            let Some(q) = rest[p..].find('}') else { break };
            let key = &rest[p + 1..p + q];
            rest = &rest[p + q + 1..];
            let v = match key {
                "CARD" => {
                    let d = self.card();
                    if self.rng.below(2) == 0 {
                        self.grouped(&d, 4)
                    } else {
                        digits_str(&d)
                    }
                }
                "CARD_SPOKEN" => {
                    let d = self.card();
                    self.spoken(l, &d)
                }
                "EXP" => format!("{:02}/{}", 1 + self.rng.below(12), 26 + self.rng.below(6)),
                "CVC" => digits_str(&self.digits(3)),
                "PHONE" => {
                    let cc = ["+45", "+46", "+47", "+358", "+372", "+49", "+44"][li];
                    let d = self.digits(8);
                    format!("{cc} {}", self.grouped(&d, 2))
                }
                "PHONE_SPOKEN" => {
                    let d = self.digits(8);
                    self.spoken(l, &d)
                }
                "CPR" | "PNR" => format!("{}-{}", self.date6(), digits_str(&self.digits(4))),
                "CPR_SPOKEN" | "PNR_SPOKEN" | "FNR_SPOKEN" => {
                    let d = self.digits(10);
                    self.spoken(l, &d)
                }
                "FNR" => format!("{}{}", self.date6(), digits_str(&self.digits(5))),
                "HETU" => format!("{}-{}{}", self.date6(), digits_str(&self.digits(3)), "A"),
                "IK" => format!(
                    "{}{}{}",
                    3 + self.rng.below(4),
                    self.date6(),
                    digits_str(&self.digits(4))
                ),
                "STID" => {
                    let d = self.digits(11);
                    self.grouped(&d, 3)
                }
                "IBAN_DK" | "IBAN_SE" | "IBAN_NO" | "IBAN_FI" | "IBAN_EE" | "IBAN_DE"
                | "IBAN_GB" => {
                    let (cc, n) = match key {
                        "IBAN_DK" => ("DK", 16),
                        "IBAN_SE" => ("SE", 22),
                        "IBAN_NO" => ("NO", 13),
                        "IBAN_FI" => ("FI", 16),
                        "IBAN_EE" => ("EE", 18),
                        "IBAN_DE" => ("DE", 20),
                        _ => ("GB", 20),
                    };
                    let d = self.digits(n);
                    format!("{cc}{}", self.grouped(&d, 4))
                }
                "LOCAL" => {
                    let f = self.first[li][self.rng.below(self.first[li].len())].to_lowercase();
                    let s = self.sur[li][self.rng.below(self.sur[li].len())].to_lowercase();
                    format!("{f}.{s}")
                }
                "DOMAIN" => (*self
                    .rng
                    .pick(&["gmail", "hotmail", "outlook", "firma", "web"]))
                .to_string(),
                "FIRST" => self.first[li][self.rng.below(self.first[li].len())].to_string(),
                "SUR" => self.sur[li][self.rng.below(self.sur[li].len())].to_string(),
                "STREET" => self.rng.pick(l.streets).to_string(),
                "CITY" => self.rng.pick(l.cities).to_string(),
                "NUM" => format!("{}", 1 + self.rng.below(150)),
                "ZIP2" => digits_str(&self.digits(2)),
                "ZIP3" => format!("{}{}", 1 + self.rng.below(9), digits_str(&self.digits(2))),
                "ZIP4" => format!("{}{}", 1 + self.rng.below(9), digits_str(&self.digits(3))),
                "ZIP5" => format!("{}{}", 1 + self.rng.below(9), digits_str(&self.digits(4))),
                "UKPC" => format!("LS{} {}AB", 1 + self.rng.below(9), self.rng.below(10)),
                "ORDER" => format!("{}", 1_000_000 + self.rng.below(90_000_000)),
                "PRICE" => format!("{}", 10 + self.rng.below(2000)),
                "DATE" => format!(
                    "{}.{}.19{}",
                    1 + self.rng.below(28),
                    1 + self.rng.below(12),
                    40 + self.rng.below(60)
                ),
                "DOB_EN" => format!(
                    "{} of {} nineteen {}",
                    self.rng
                        .pick(&["fourteenth", "third", "twenty-first", "first"]),
                    self.rng.pick(&["July", "March", "October"]),
                    self.rng.pick(&["forty-five", "eighty-two", "sixty"])
                ),
                _ => String::new(),
            };
            out.push_str(&v);
        }
        out.push_str(rest);
        out
    }

    /// One line and its language.
    pub fn line(&mut self) -> (String, Lang) {
        let li = self.rng.below(LANGS.len());
        let l = LANGS[li];
        let roll = self.rng.below(100);
        let roll = if self.mix == Mix::Dense && self.rng.below(2) == 0 {
            // every other line: a number line (negatives, cards, phones, ids, IBANs)
            52 + roll % 24
        } else {
            roll
        };
        let frame: &str = match roll {
            0..=51 => self.rng.pick(l.plain),
            52..=61 => self.rng.pick(l.negative),
            62..=65 => self.rng.pick(l.card),
            66..=69 => self.rng.pick(l.phone),
            70..=72 => self.rng.pick(l.id),
            73..=75 => self.rng.pick(l.iban),
            76..=78 => self.rng.pick(l.email),
            79..=87 => self.rng.pick(l.name),
            88..=91 => self.rng.pick(l.address),
            _ => self.rng.pick(l.special),
        };
        let body = self.fill(li, l, frame);
        let text = match self.rng.below(10) {
            0..=3 => format!("{}: {body}", l.caller),
            4..=6 => format!("{}: {body}", l.agent),
            7 => body.to_lowercase(),
            _ => body,
        };
        let _ = (l.at, l.dot, l.terms);
        (text, l.lang)
    }

    /// Lines until at least `bytes` of text.
    pub fn lines(&mut self, bytes: usize) -> Vec<(String, Lang)> {
        let mut v = Vec::new();
        let mut n = 0usize;
        while n < bytes {
            let (t, l) = self.line();
            n += t.len() + 1;
            v.push((t, l));
        }
        v
    }
}
