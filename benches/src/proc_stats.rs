//! What the kernel counts for this process: bytes written to storage (`/proc/self/io`)
//! and the peak resident set (`VmHWM` in `/proc/self/status`, reset through
//! `/proc/self/clear_refs`). Each engine runs in a process of its own, so these are
//! the engine's figures alone.

use std::path::Path;

use lsm_core::{Fs, OpenOptions, StdFs};

/// Reads a file the kernel writes as it is read (its length reads as 0).
fn read(path: &str) -> Option<String> {
    let file = StdFs.open(Path::new(path), OpenOptions::read()).ok()?;
    let mut bytes = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        let read = file.read_at(&mut buf, bytes.len() as u64).ok()?;
        if read == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..read]);
    }
    String::from_utf8(bytes).ok()
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

/// Bytes this process has caused to be written to storage (`write_bytes`: page-cache
/// writes count when they dirty a page, whether or not the file is deleted before
/// writeback). Falls back to `wchar` (bytes passed to write calls) where storage
/// accounting is off.
pub fn written_bytes() -> Option<u64> {
    let io = read("/proc/self/io")?;
    match field(&io, "write_bytes") {
        Some(bytes) if bytes > 0 => Some(bytes),
        _ => field(&io, "wchar"),
    }
}

/// The process's peak resident set size in bytes, if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = read("/proc/self/status")?;
    field(&status, "VmHWM").map(|kib| kib * 1024)
}

/// Resets the peak resident set to the current one (best effort: returns whether the
/// kernel took it).
pub fn reset_peak_rss() -> bool {
    let Ok(file) = StdFs.open(Path::new("/proc/self/clear_refs"), OpenOptions::write()) else {
        return false;
    };
    file.write_at(b"5", 0).is_ok()
}
