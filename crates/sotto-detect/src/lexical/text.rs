//! Case folding that keeps byte offsets, and a word tokenizer.

/// Lower-cases `text` without changing any byte offset: a character whose lower-case form has
/// a different UTF-8 length (or is several characters) is kept as it is. Hyphens become spaces so
/// that "brca1-mutation" and "brca1 mutation" match the same pattern.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        let mut b = text.as_bytes().to_ascii_lowercase();
        for x in &mut b {
            if *x == b'-' {
                *x = b' ';
            }
        }
        return String::from_utf8(b).unwrap_or_default();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '-' {
            out.push(' ');
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_uppercase() {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A word: a maximal run of alphanumeric characters.
#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub s: usize,
    pub e: usize,
    /// First character upper case.
    pub cap: bool,
    /// Only ASCII digits.
    pub digits: bool,
    /// Contains a digit.
    pub has_digit: bool,
    /// One alphabetic character.
    pub letter: bool,
    /// A sentence or turn break ('.', '!', '?', ':', ';', newline) between the previous word and
    /// this one.
    pub brk: bool,
    /// A comma between the previous word and this one.
    pub comma: bool,
    /// Only spaces (or a single hyphen) between the previous word and this one.
    pub tight: bool,
    /// A full stop directly after this word.
    pub dot_after: bool,
}

pub fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::with_capacity(text.len() / 5 + 1);
    let mut start: Option<usize> = None;
    let mut prev_end = 0usize;
    for (i, c) in text.char_indices() {
        let alnum = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphanumeric()
        };
        if alnum {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            toks.push(make_tok(text, prev_end, s, i, toks.is_empty()));
            prev_end = i;
        }
    }
    if let Some(s) = start {
        toks.push(make_tok(text, prev_end, s, text.len(), toks.is_empty()));
    }
    toks
}

fn make_tok(text: &str, prev_end: usize, s: usize, e: usize, first_tok: bool) -> Tok {
    let gap = text.get(prev_end..s).unwrap_or("");
    let w = text.get(s..e).unwrap_or("");
    let mut chars = w.chars();
    let first = chars.next();
    let cap = first.is_some_and(char::is_uppercase);
    let digits = !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    let has_digit = w.bytes().any(|b| b.is_ascii_digit());
    let letter = first.is_some_and(char::is_alphabetic) && chars.next().is_none();
    let dot_after = text.as_bytes().get(e) == Some(&b'.');
    let brk = first_tok
        || gap
            .chars()
            .any(|c| matches!(c, '.' | '!' | '?' | ':' | ';' | '\n' | '\r'));
    let comma = gap.contains(',');
    let tight = !first_tok
        && (gap == "-" || (!gap.is_empty() && gap.chars().all(|c| c == ' ' || c == '\t')));
    Tok {
        s,
        e,
        cap,
        digits,
        has_digit,
        letter,
        brk,
        comma,
        tight,
        dot_after,
    }
}

/// True when the text has both upper- and lower-case letters, so capitals carry information.
pub fn mixed_case(text: &str) -> bool {
    let mut up = false;
    let mut low = false;
    for c in text.chars() {
        if c.is_uppercase() {
            up = true;
        } else if c.is_lowercase() {
            low = true;
        }
        if up && low {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_keeps_offsets() {
        let t = "Ærø ÖSTER-Gade İ ẞ";
        let f = fold(t);
        assert_eq!(f.len(), t.len());
        assert!(f.starts_with("ærø öster gade"));
    }

    #[test]
    fn tokens_and_breaks() {
        let t = "Kunde: Jeg hedder Søren, ok. 2. th";
        let toks = tokenize(t);
        let words: Vec<&str> = toks.iter().map(|k| &t[k.s..k.e]).collect();
        assert_eq!(words, ["Kunde", "Jeg", "hedder", "Søren", "ok", "2", "th"]);
        assert!(toks[1].brk && !toks[2].brk && toks[4].comma && toks[5].brk);
        assert!(toks[5].dot_after);
    }
}
