//! A small, dependency-free PDF writer for case exports: A4 pages of wrapped text lines in the
//! standard Helvetica font with WinAnsiEncoding.
//!
//! Why not a PDF crate: the export must build offline and be byte-for-byte deterministic (it is
//! sealed by its hash), and the seven transcript languages (da, sv, nb, fi, et, de, en) need only
//! Latin-1 plus Š/š/Ž/ž, all of which WinAnsiEncoding covers — so the 14 standard fonts every
//! PDF reader ships suffice and no font file has to be embedded or licensed. Characters outside
//! WinAnsi are written as `?` (the JSON export keeps the exact text).

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const SIZE: f32 = 9.0;
const LEADING: f32 = 11.5;
/// Characters per line at 9 pt Helvetica across the text width (average glyph ≈ 0.5 em).
const WRAP: usize = 108;

/// One line of the document: its text and whether it is a heading (bold, larger).
pub(crate) struct Line {
    pub text: String,
    pub heading: bool,
}

impl Line {
    pub fn text(s: impl Into<String>) -> Self {
        Self {
            text: s.into(),
            heading: false,
        }
    }
    pub fn heading(s: impl Into<String>) -> Self {
        Self {
            text: s.into(),
            heading: true,
        }
    }
}

/// Maps a char to its WinAnsiEncoding byte, `?` when it has none.
fn win_ansi(c: char) -> u8 {
    let u = c as u32;
    match u {
        0x20..=0x7e => u as u8,
        0xa0..=0xff => u as u8,
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Š' => 0x8a,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            'š' => 0x9a,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            '\t' => b' ',
            _ => b'?',
        },
    }
}

/// Splits text into lines of at most `WRAP` characters, at spaces where possible.
fn wrap(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0usize;
        for word in para.split(' ') {
            let wl = word.chars().count();
            if len > 0 && len + 1 + wl > WRAP {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            // A word longer than a line is cut.
            let mut w: Vec<char> = word.chars().collect();
            while len + w.len() > WRAP {
                let take = WRAP - len;
                line.extend(w.drain(..take));
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            len += w.len();
            line.extend(w);
        }
        out.push(line);
    }
    out
}

fn escape(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        let b = win_ansi(c);
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Renders the lines into a PDF (deterministic: no dates, no random ids).
pub(crate) fn render(title: &str, lines: &[Line]) -> Vec<u8> {
    // Lay out: (heading, text) per physical line, then pages.
    let per_page = ((PAGE_H - 2.0 * MARGIN) / LEADING) as usize;
    let mut phys: Vec<(bool, String)> = Vec::new();
    for l in lines {
        for w in wrap(&l.text) {
            phys.push((l.heading, w));
        }
    }
    let pages: Vec<&[(bool, String)]> = if phys.is_empty() {
        vec![&[]]
    } else {
        phys.chunks(per_page.max(1)).collect()
    };
    let n_pages = pages.len();

    // Objects: 1 catalog, 2 pages, 3 font regular, 4 font bold, 5 info, then per page: page, content.
    let mut objs: Vec<Vec<u8>> = Vec::new();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n_pages).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
    objs.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n_pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Producer (Sotto) /Title (".to_vec();
    escape(title, &mut info);
    info.extend_from_slice(b") >>");
    objs.push(info);
    for (pi, page) in pages.iter().enumerate() {
        let mut c = Vec::new();
        c.extend_from_slice(b"BT\n");
        let mut y = PAGE_H - MARGIN;
        for (heading, text) in page.iter() {
            let (font, size) = if *heading {
                ("F2", SIZE + 1.5)
            } else {
                ("F1", SIZE)
            };
            c.extend_from_slice(
                format!("/{font} {size} Tf 1 0 0 1 {MARGIN} {y:.1} Tm (").as_bytes(),
            );
            escape(text, &mut c);
            c.extend_from_slice(b") Tj\n");
            y -= LEADING;
        }
        c.extend_from_slice(
            format!(
                "/F1 8 Tf 1 0 0 1 {MARGIN} 24 Tm (page {} of {n_pages}) Tj\nET\n",
                pi + 1
            )
            .as_bytes(),
        );
        let content_id = 7 + 2 * pi;
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", c.len()).into_bytes();
        stream.extend_from_slice(&c);
        stream.extend_from_slice(b"endstream");
        objs.push(stream);
    }

    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nordic_letters_map_to_win_ansi() {
        for (c, b) in [
            ('æ', 0xe6),
            ('ø', 0xf8),
            ('å', 0xe5),
            ('Ä', 0xc4),
            ('õ', 0xf5),
            ('š', 0x9a),
            ('Ž', 0x8e),
            ('ß', 0xdf),
        ] {
            assert_eq!(win_ansi(c), b, "{c}");
        }
        assert_eq!(win_ansi('中'), b'?');
    }

    #[test]
    fn renders_a_parsable_skeleton_deterministically() {
        let lines: Vec<Line> = (0..200)
            .map(|i| Line::text(format!("linje {i}: blåbærgrød (parentes) \\ õun šokolaad")))
            .collect();
        let a = render("Sag", &lines);
        let b = render("Sag", &lines);
        assert_eq!(a, b);
        assert!(a.starts_with(b"%PDF-1.4"));
        assert!(a.ends_with(b"%%EOF\n"));
        let s = String::from_utf8_lossy(&a);
        assert!(
            s.contains("/Count 4"),
            "200 lines at 64 a page make 4 pages"
        );
        assert!(s.contains("\\(parentes\\)"));
        // xref offsets point at objects.
        let xref_at: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(a[xref_at..].starts_with(b"xref"));
    }

    #[test]
    fn long_words_and_lines_wrap() {
        let w = wrap(&"x".repeat(250));
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|l| l.chars().count() <= WRAP));
        let w = wrap("a b\nc");
        assert_eq!(w, vec!["a b".to_string(), "c".to_string()]);
    }
}
