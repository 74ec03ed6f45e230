//! Check-digit algorithms and date checks. Inputs are digit values (0–9), not ASCII.

/// Luhn (cards, Swedish personnummer).
pub fn luhn(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn num(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |a, &x| {
        a.saturating_mul(10).saturating_add(u32::from(x))
    })
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

/// A real calendar date (year in full).
pub fn valid_date(day: u32, month: u32, year: u32) -> bool {
    day >= 1 && day <= days_in(month, year)
}

/// Card brand by IIN and length.
pub fn card_brand(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let p = |k: usize| num(d.get(..k).unwrap_or(&[]));
    if !(12..=19).contains(&n) {
        return None;
    }
    let p2 = p(2);
    let p4 = p(4);
    let p6 = p(6);
    if d.first() == Some(&4) && matches!(n, 13 | 16 | 19) {
        return Some("visa");
    }
    if n == 16 && ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) {
        return Some("mastercard");
    }
    if (p2 == 34 || p2 == 37) && n == 15 {
        return Some("amex");
    }
    if p4 == 5019 && n == 16 {
        return Some("dankort");
    }
    if (p4 == 6011 || p2 == 65 || (644..=649).contains(&p(3)) || (622126..=622925).contains(&p6))
        && (16..=19).contains(&n)
    {
        return Some("discover");
    }
    if (3528..=3589).contains(&p4) && (16..=19).contains(&n) {
        return Some("jcb");
    }
    if (p2 == 36 || p2 == 38 || p2 == 39 || (300..=305).contains(&p(3))) && (14..=19).contains(&n) {
        return Some("diners");
    }
    if matches!(p2, 50 | 56..=69) && (12..=19).contains(&n) {
        return Some("maestro");
    }
    if p2 == 62 && (16..=19).contains(&n) {
        return Some("unionpay");
    }
    None
}

/// Danish CPR: DDMMYY-SSSS with a real date (century from the 7th digit). Returns (date ok,
/// mod-11 ok). Numbers issued since 2007 may fail mod-11.
pub fn cpr(d: &[u8]) -> (bool, bool) {
    if d.len() != 10 {
        return (false, false);
    }
    let g = |a: usize, b: usize| num(d.get(a..b).unwrap_or(&[]));
    let (dd, mm, yy) = (g(0, 2), g(2, 4), g(4, 6));
    let c = u32::from(*d.get(6).unwrap_or(&0));
    let century = match c {
        0..=3 => 1900,
        4 | 9 => {
            if yy <= 36 {
                2000
            } else {
                1900
            }
        }
        _ => {
            if yy <= 57 {
                2000
            } else {
                1800
            }
        }
    };
    let date = valid_date(dd, mm, century + yy);
    const W: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
    let s: u32 = d.iter().zip(W).map(|(&x, w)| u32::from(x) * w).sum();
    (date, s % 11 == 0)
}

/// Swedish personnummer / samordningsnummer: 10 digits YYMMDDNNNC or 12 digits YYYYMMDDNNNC;
/// Luhn over the last 10; day may be +60 (samordningsnummer).
pub fn personnummer(d: &[u8]) -> bool {
    let (ten, year) = match d.len() {
        10 => (d, None),
        12 => {
            let y = num(d.get(..4).unwrap_or(&[]));
            if !(1850..=2030).contains(&y) {
                return false;
            }
            (d.get(2..).unwrap_or(&[]), Some(y))
        }
        _ => return false,
    };
    let g = |a: usize, b: usize| num(ten.get(a..b).unwrap_or(&[]));
    let (yy, mm, mut dd) = (g(0, 2), g(2, 4), g(4, 6));
    if dd > 60 {
        dd -= 60;
    }
    let y = year.unwrap_or(1900 + yy);
    valid_date(dd, mm, y) && luhn(ten)
}

/// Norwegian fødselsnummer / D-nummer (day +40) / H-nummer (month +40): 11 digits, two mod-11
/// check digits.
pub fn fodselsnummer(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let g = |a: usize, b: usize| num(d.get(a..b).unwrap_or(&[]));
    let (mut dd, mut mm, yy) = (g(0, 2), g(2, 4), g(4, 6));
    if dd > 40 {
        dd -= 40;
    }
    if mm > 40 {
        mm -= 40;
    }
    if !valid_date(dd, mm, 2000 + yy) && !valid_date(dd, mm, 1900 + yy) {
        return false;
    }
    const W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    const W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let k = |w: &[u32]| -> Option<u32> {
        let s: u32 = d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum();
        let r = 11 - s % 11;
        match r {
            11 => Some(0),
            10 => None,
            r => Some(r),
        }
    };
    k(&W1) == d.get(9).map(|&x| u32::from(x)) && k(&W2) == d.get(10).map(|&x| u32::from(x))
}

/// Estonian isikukood: GYYMMDDSSSC, G 1–6, two-stage weights.
pub fn isikukood(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let g0 = u32::from(*d.first().unwrap_or(&0));
    if !(1..=6).contains(&g0) {
        return false;
    }
    let g = |a: usize, b: usize| num(d.get(a..b).unwrap_or(&[]));
    let century = 1800 + 100 * ((g0 - 1) / 2);
    if !valid_date(g(5, 7), g(3, 5), century + g(1, 3)) {
        return false;
    }
    const W1: [u32; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1];
    const W2: [u32; 10] = [3, 4, 5, 6, 7, 8, 9, 1, 2, 3];
    let s = |w: &[u32; 10]| {
        d.iter()
            .zip(w)
            .map(|(&x, &w)| u32::from(x) * w)
            .sum::<u32>()
            % 11
    };
    let mut c = s(&W1);
    if c == 10 {
        c = s(&W2);
        if c == 10 {
            c = 0;
        }
    }
    d.get(10).map(|&x| u32::from(x)) == Some(c)
}

/// German Steuer-ID: 11 digits, first not 0; in the first ten one digit occurs twice or three
/// times and at least one digit is missing; ISO 7064 MOD 11,10 check digit.
pub fn steuer_id(d: &[u8]) -> bool {
    if d.len() != 11 || d.first() == Some(&0) {
        return false;
    }
    let mut cnt = [0u8; 10];
    for &x in d.iter().take(10) {
        if let Some(c) = cnt.get_mut(usize::from(x)) {
            *c += 1;
        }
    }
    let multi = cnt.iter().filter(|&&c| c >= 2).count();
    let max = cnt.iter().copied().max().unwrap_or(0);
    if multi != 1 || max > 3 {
        return false;
    }
    let mut p = 10u32;
    for &x in d.iter().take(10) {
        let mut s = (u32::from(x) + p) % 10;
        if s == 0 {
            s = 10;
        }
        p = (2 * s) % 11;
    }
    let mut c = 11 - p;
    if c == 10 {
        c = 0;
    }
    d.get(10).map(|&x| u32::from(x)) == Some(c)
}

/// Finnish HETU check character for the 9 digits DDMMYYNNN.
pub fn hetu_check(nine: &[u8]) -> Option<char> {
    if nine.len() != 9 {
        return None;
    }
    const T: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let n = num(nine) as usize;
    T.get(n % 31).map(|&b| char::from(b))
}

/// A full HETU string (ASCII): DDMMYY, century sign, NNN, check char.
pub fn hetu(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 {
        return false;
    }
    let sign = b.get(6).copied().unwrap_or(b'?').to_ascii_uppercase();
    let century = match sign {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => 2000,
        _ => return false,
    };
    let mut nine = [0u8; 9];
    for (i, slot) in nine.iter_mut().enumerate() {
        let Some(&c) = b.get(if i < 6 { i } else { i + 1 }) else {
            return false;
        };
        if !c.is_ascii_digit() {
            return false;
        }
        *slot = c - b'0';
    }
    let g = |a: usize, e: usize| num(nine.get(a..e).unwrap_or(&[]));
    if !valid_date(g(0, 2), g(2, 4), century + g(4, 6)) {
        return false;
    }
    let want = hetu_check(&nine);
    let got = b.get(10).map(|c| char::from(c.to_ascii_uppercase()));
    want.is_some() && want == got
}

/// The shortest length [`iban_len`] gives (Norway's).
pub const IBAN_MIN_LEN: usize = 15;

/// IBAN lengths per country (the SEPA area and a few more).
pub fn iban_len(cc: &[u8; 2]) -> Option<usize> {
    Some(match cc {
        b"DK" | b"FI" | b"NL" | b"FO" | b"GL" => 18,
        b"NO" => 15,
        b"SE" | b"ES" | b"SK" | b"CZ" | b"RO" => 24,
        b"EE" | b"AT" | b"LT" => 20,
        b"DE" | b"GB" | b"IE" => 22,
        b"BE" => 16,
        b"FR" | b"IT" | b"MC" => 27,
        b"PL" | b"HU" => 28,
        b"LU" | b"LV" => 21,
        b"CH" | b"LI" => 21,
        b"IS" => 26,
        b"PT" => 25,
        b"SI" => 19,
        b"GR" | b"CY" | b"MT" => 27,
        _ => return None,
    })
}

/// Mod-97 over an uppercase alphanumeric IBAN (ASCII bytes).
pub fn iban_mod97(s: &[u8]) -> bool {
    if s.len() < 5 {
        return false;
    }
    let mut r: u32 = 0;
    let rearranged = s.iter().skip(4).chain(s.iter().take(4));
    for &c in rearranged {
        match c {
            b'0'..=b'9' => r = (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => r = (r * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    r == 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn iban_min_len_is_the_shortest() {
        let lens: Vec<usize> = (b'A'..=b'Z')
            .flat_map(|a| (b'A'..=b'Z').map(move |b| [a, b]))
            .filter_map(|cc| iban_len(&cc))
            .collect();
        assert_eq!(lens.iter().min(), Some(&IBAN_MIN_LEN));
    }

    fn d(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0')
            .collect()
    }

    #[test]
    fn known_values() {
        assert!(luhn(&d("4111111111111111")));
        assert!(!luhn(&d("4111111111111112")));
        assert_eq!(card_brand(&d("5019181747930432")), Some("dankort"));
        assert_eq!(cpr(&d("1209639609")), (true, true));
        assert!(personnummer(&d("199001102418")));
        assert!(personnummer(&d("8208302474")));
        assert!(fodselsnummer(&d("07104148101")));
        assert!(isikukood(&d("34208292278")));
        assert!(steuer_id(&d("45963172872")));
        assert!(hetu("250989-817P"));
        assert!(hetu("071000A4215"));
        assert!(iban_mod97(b"FI5353147076802217"));
        assert!(iban_mod97(b"GB04LOYD30949392258090"));
    }
}
