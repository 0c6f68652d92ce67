//! `cargo xtask format-check`: each format doc records the hash of the layout file it
//! describes, so a change to on-disk constants cannot land without touching its doc.
//!
//! A doc names its layout file and hash on one line each:
//! `layout-file: crates/lsm-codec/src/layout.rs` and `layout-hash: <16 hex digits>`.
//! The hash is FNV-1a 64 over the layout file's bytes.

use std::fs;
use std::path::Path;

use crate::Result;

pub(crate) fn run(root: &Path) -> Result {
    let docs_dir = root.join("docs/format");
    let mut entries: Vec<_> = fs::read_dir(&docs_dir)
        .map_err(|error| format!("{}: {error}", docs_dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    entries.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in &entries {
        let text =
            fs::read_to_string(doc).map_err(|error| format!("{}: {error}", doc.display()))?;
        let Some(layout_file) = field(&text, "layout-file:") else {
            continue;
        };
        let recorded = field(&text, "layout-hash:").unwrap_or_default();
        let layout =
            fs::read(root.join(layout_file)).map_err(|error| format!("{layout_file}: {error}"))?;
        let actual = format!("{:016x}", fnv1a(&layout));
        if recorded != actual {
            problems.push(format!(
                "{}: layout-hash is {recorded:?} but {layout_file} hashes to {actual}; review the doc against the layout, then update the hash",
                doc.display()
            ));
        }
        checked += 1;
    }
    if problems.is_empty() {
        eprintln!("format-check: {checked} format docs match their layout files");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let line = line.trim().trim_start_matches(['-', '*', ' ']);
        line.strip_prefix(name)
            .map(|value| value.trim().trim_matches('`'))
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_in_list_items_and_code_spans() {
        let doc = "# Doc\n- layout-file: `a/b.rs`\n- layout-hash: `0011`\n";
        assert_eq!(field(doc, "layout-file:"), Some("a/b.rs"));
        assert_eq!(field(doc, "layout-hash:"), Some("0011"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
