//! `cargo xtask tidy`: source rules that neither rustc nor clippy check.
//!
//! - every `.rs` file opens with a `//!` doc comment;
//! - no `dbg!`, `todo!` or `unimplemented!`; no printing from engine library code
//!   (outside tests, which come last in a file, after `#[cfg(test)]`);
//! - `#[ignore]` and `TODO` must cite an issue;
//! - every `unsafe` block or impl has a `SAFETY:` comment just above it;
//! - no trailing whitespace and no non-ASCII characters in code.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;

const SOURCE_ROOTS: &[&str] = &["crates", "xtask", "benches", "fuzz"];

pub(crate) fn run(root: &Path) -> Result {
    let mut files = Vec::new();
    for source_root in SOURCE_ROOTS {
        collect_rust_files(&root.join(source_root), &mut files);
    }
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let text =
            fs::read_to_string(file).map_err(|error| format!("{}: {error}", file.display()))?;
        let relative = file.strip_prefix(root).unwrap_or(file);
        check_file(relative, &text, &mut problems);
    }
    if problems.is_empty() {
        eprintln!("tidy: {} files clean", files.len());
        Ok(())
    } else {
        Err(format!(
            "{} problems:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "corpus" || name == "artifacts" {
            continue;
        }
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

fn check_file(path: &Path, text: &str, problems: &mut Vec<String>) {
    let display = path.display();
    if !text.starts_with("//!") {
        problems.push(format!("{display}: must open with a `//!` doc comment"));
    }
    // The test kit prints seeds on purpose, and the command-line tool's job is its
    // output; engine libraries never print.
    let is_library = path.starts_with("crates")
        && !path.starts_with("crates/lsm-testkit")
        && !path.starts_with("crates/lsm-cli")
        && path.components().any(|part| part.as_os_str() == "src");
    // tidy's own source names the patterns it bans.
    let checks_content = !path.ends_with("xtask/src/tidy.rs");
    let mut in_tests = false;
    let mut safety_comment_above = false;
    for (line_idx, line) in text.lines().enumerate() {
        let at = format!("{display}:{}", line_idx + 1);
        let code = line.trim_start();
        in_tests |= code.starts_with("#[cfg(test)]");
        if line.ends_with(' ') || line.ends_with('\t') {
            problems.push(format!("{at}: trailing whitespace"));
        }
        if !line.is_ascii() {
            problems.push(format!("{at}: non-ASCII character"));
        }
        if !checks_content {
            continue;
        }
        for banned in ["dbg!(", "todo!(", "unimplemented!("] {
            if code.contains(banned) && !code.starts_with("//") {
                problems.push(format!("{at}: `{banned}` is not allowed"));
            }
        }
        let prints = ["println!(", "print!(", "eprintln!(", "eprint!("]
            .iter()
            .any(|macro_name| code.contains(macro_name));
        if is_library && !in_tests && prints && !code.starts_with("//") {
            problems.push(format!(
                "{at}: libraries do not print; return or log instead"
            ));
        }
        if code.starts_with("#[ignore") && !code.contains("issue") {
            problems.push(format!(
                "{at}: #[ignore] must cite an issue: #[ignore = \"issue N: ...\"]"
            ));
        }
        if code.contains("TODO") && !code.contains("TODO(issue ") {
            problems.push(format!("{at}: a TODO cites its issue: TODO(issue N)"));
        }
        let is_comment = code.starts_with("//");
        let opens_unsafe = code.starts_with("unsafe {")
            || code.contains(" unsafe {")
            || code.starts_with("unsafe impl");
        if opens_unsafe && !is_comment && !safety_comment_above {
            problems.push(format!(
                "{at}: unsafe without a `// SAFETY:` comment just above"
            ));
        }
        if is_comment {
            safety_comment_above |= code.contains("SAFETY:");
        } else if !code.is_empty() && !code.starts_with("#[") {
            safety_comment_above = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(path: &str, text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        check_file(Path::new(path), text, &mut problems);
        problems
    }

    #[test]
    fn each_rule_fires() {
        assert_eq!(
            problems_of("crates/a/src/lib.rs", "//! Doc.\nfn f() {}\n"),
            Vec::<String>::new()
        );
        assert_eq!(problems_of("crates/a/src/lib.rs", "fn f() {}\n").len(), 1);
        assert_eq!(
            problems_of("crates/a/src/lib.rs", "//! D\nfn f() { dbg!(1); } \n").len(),
            2
        );
        assert_eq!(
            problems_of(
                "crates/a/src/lib.rs",
                "//! D\nfn f() { println!(\"x\"); }\n"
            )
            .len(),
            1
        );
        assert!(
            problems_of(
                "crates/a/src/lib.rs",
                "//! D\n#[cfg(test)]\nfn f() { println!(\"x\"); }\n"
            )
            .is_empty()
        );
        assert!(
            problems_of(
                "benches/src/main.rs",
                "//! D\nfn f() { println!(\"x\"); }\n"
            )
            .is_empty()
        );
        assert_eq!(problems_of("x.rs", "//! D\n// TODO: later\n").len(), 1);
        assert!(problems_of("x.rs", "//! D\n// TODO(issue 7): later\n").is_empty());
        assert_eq!(
            problems_of("x.rs", "//! D\nlet a = unsafe { f() };\n").len(),
            1
        );
        assert!(
            problems_of("x.rs", "//! D\n// SAFETY: fine.\nlet a = unsafe { f() };\n").is_empty()
        );
        assert_eq!(problems_of("x.rs", "//! D\n#[ignore]\n").len(), 1);
        assert!(
            problems_of(
                "x.rs",
                "//! D\n// SAFETY: two\n// lines.\nunsafe impl A for B {}\n"
            )
            .is_empty()
        );
        assert_eq!(problems_of("x.rs", "//! D \u{2192} \n").len(), 2);
    }
}
