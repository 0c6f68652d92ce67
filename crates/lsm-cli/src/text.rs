//! Output: keys and values as text, hex or JSON, sizes for people, and aligned tables.

use std::fmt::Write as _;

use clap::ValueEnum;

/// How keys and values are printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// `key<TAB>value`, bytes that are not printable UTF-8 escaped.
    #[default]
    Text,
    /// `key<TAB>value` in lower-case hex.
    Hex,
    /// One JSON object per line: `{"key": .., "value": ..}` (strings; hex in
    /// `key_hex` / `value_hex` when the bytes are not UTF-8).
    Json,
}

/// `bytes` as text: UTF-8 with control characters and invalid bytes escaped.
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch.is_control() || ch == '\\' {
                out.extend(ch.escape_default());
            } else {
                out.push(ch);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// `bytes` in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Bytes in hex, parsed from a command line argument.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|idx| u8::from_str_radix(text.get(idx..idx + 2)?, 16).ok())
        .collect()
}

/// `bytes` as a JSON field pair: the string under `name` when it is UTF-8, else the
/// hex under `name_hex`.
pub fn json_bytes(
    object: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    bytes: &[u8],
) {
    match std::str::from_utf8(bytes) {
        Ok(text) => object.insert(name.to_owned(), text.into()),
        Err(_) => object.insert(format!("{name}_hex"), hex(bytes).into()),
    };
}

/// One pair in `format`.
pub fn pair(format: Format, key: &[u8], value: &[u8]) -> String {
    match format {
        Format::Text => format!("{}\t{}", escaped(key), escaped(value)),
        Format::Hex => format!("{}\t{}", hex(key), hex(value)),
        Format::Json => {
            let mut object = serde_json::Map::new();
            json_bytes(&mut object, "key", key);
            json_bytes(&mut object, "value", value);
            serde_json::Value::Object(object).to_string()
        }
    }
}

/// A byte count for people: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A table of text: a header row and rows, columns padded to their widest cell;
/// numbers (cells starting with a digit) are right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (idx, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(idx) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut first = true;
        for (cell, width) in cells.zip(&widths) {
            if !first {
                out.push_str("  ");
            }
            first = false;
            let numeric = cell.starts_with(|ch: char| ch.is_ascii_digit());
            if numeric {
                let _ = write!(out, "{cell:>width$}");
            } else {
                let _ = write!(out, "{cell:<width$}");
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, &mut header.iter().copied());
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    line(&mut out, &mut rule.iter().map(String::as_str));
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_as_text_hex_and_json() {
        assert_eq!(escaped(b"a\tb\xff"), "a\\tb\\xff");
        assert_eq!(hex(b"\x00\xab"), "00ab");
        assert_eq!(parse_hex("00ab"), Some(vec![0, 0xab]));
        assert_eq!(parse_hex("0"), None);
        assert_eq!(
            pair(Format::Json, b"k", b"\xff"),
            r#"{"key":"k","value_hex":"ff"}"#
        );
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(10), "10 B");
    }

    #[test]
    fn tables_align_their_columns() {
        let text = table(
            &["name", "size"],
            &[
                vec!["a".into(), "10".into()],
                vec!["long".into(), "5".into()],
            ],
        );
        assert_eq!(text, "name  size\n----  ----\na       10\nlong     5\n");
    }
}
