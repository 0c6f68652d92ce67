//! Opening a tree from the command line: the path checked first (a command never creates
//! a tree), the key taken from a file or an environment variable (never an argument),
//! blob files found by their directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use lsm::{AnyTree, Config, SequenceNumberCounter};

use crate::error::{CliError, Result, Status};

/// Where the tree is and how to read it.
#[derive(Args, Debug, Clone)]
pub struct TreeArgs {
    /// The tree's directory.
    pub path: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub routes: RouteArgs,
}

/// Where the tables of the tree's deeper levels live, when it has level routes.
#[derive(Args, Debug, Clone, Default)]
pub struct RouteArgs {
    /// A level route of the tree: its levels from LEVEL down live in DIR (repeat for
    /// several routes, as the tree was configured).
    #[arg(long = "route", value_name = "LEVEL=DIR", value_parser = parse_route)]
    pub routes: Vec<(u8, PathBuf)>,
}

/// A route given as `LEVEL=DIR`.
fn parse_route(text: &str) -> std::result::Result<(u8, PathBuf), String> {
    let (level, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("a route is LEVEL=DIR, not {text}"))?;
    let level = level
        .parse::<u8>()
        .map_err(|_| format!("a route's level is a number, not {level}"))?;
    if dir.is_empty() {
        return Err("a route needs a directory".to_owned());
    }
    Ok((level, PathBuf::from(dir)))
}

/// Where an encrypted tree's master key comes from.
#[derive(Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// A file holding the 32-byte master key (raw, or as 64 hex digits).
    #[arg(long, value_name = "FILE", conflicts_with = "key_env")]
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the master key as 64 hex digits.
    #[arg(long, value_name = "VAR")]
    pub key_env: Option<String>,
}

impl KeyArgs {
    /// The master key, if one was named.
    pub fn key(&self) -> Result<Option<[u8; 32]>> {
        if let Some(path) = &self.key_file {
            let bytes = crate::files::read(path).map_err(|error| {
                CliError::new(Status::Key, format!("key file {}: {error}", path.display()))
            })?;
            return parse_key(&bytes).map(Some).ok_or_else(|| {
                CliError::new(
                    Status::Key,
                    format!("key file {}: not 32 bytes or 64 hex digits", path.display()),
                )
            });
        }
        if let Some(var) = &self.key_env {
            let text = std::env::var(var).map_err(|_| {
                CliError::new(
                    Status::Key,
                    format!("environment variable {var} is not set"),
                )
            })?;
            return parse_key(text.as_bytes())
                .map(Some)
                .ok_or_else(|| CliError::new(Status::Key, format!("{var}: not 64 hex digits")));
        }
        Ok(None)
    }
}

/// A key as 32 raw bytes, or as 64 hex digits (surrounding whitespace ignored).
fn parse_key(bytes: &[u8]) -> Option<[u8; 32]> {
    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
        return Some(raw);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() != 64 {
        return None;
    }
    let mut key = [0; 32];
    for (idx, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(idx * 2..idx * 2 + 2)?, 16).ok()?;
    }
    Some(key)
}

/// The tree's configuration: its path, its key, and key-value separation when it holds
/// blob files.
pub fn config(args: &TreeArgs) -> Result<Config> {
    let config = Config::new(
        &args.path,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    );
    let config = match args.key.key()? {
        Some(key) => config.with_encryption(Some(Arc::new(lsm::Aes256GcmProvider::new(&key)))),
        None => config,
    };
    let config = args
        .routes
        .routes
        .iter()
        .fold(config, |config, (level, dir)| {
            config.level_route(*level, dir)
        });
    let separated = args.path.join(lsm::layout::BLOBS_DIR).is_dir();
    Ok(config.with_kv_separation(separated.then(lsm::KvSeparationOptions::default)))
}

/// Checks that `path` holds a tree (or the remains of one, for repair) without touching it.
pub fn check_tree_dir(path: &Path, manifest_needed: bool) -> Result<()> {
    if !path.exists() {
        return Err(CliError::new(
            Status::NotFound,
            format!(
                "no tree at {}: the directory does not exist",
                path.display()
            ),
        ));
    }
    if !path.is_dir() {
        return Err(CliError::new(
            Status::NotFound,
            format!("{} is a file, not a tree's directory", path.display()),
        ));
    }
    let has_manifest = path.join("current").is_file();
    let has_tables = path.join(lsm::layout::TABLES_DIR).is_dir();
    if manifest_needed && !has_manifest && !has_tables {
        return Err(CliError::new(
            Status::NotFound,
            format!(
                "{} is not a tree: it has no manifest and no tables",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Opens the tree of `args`, which must exist.
pub fn open(args: &TreeArgs) -> Result<AnyTree> {
    check_tree_dir(&args.path, true)?;
    Ok(config(args)?.open()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_raw_or_as_hex() {
        let raw = [7_u8; 32];
        assert_eq!(parse_key(&raw), Some(raw));
        let hex = "07".repeat(32) + "\n";
        assert_eq!(parse_key(hex.as_bytes()), Some(raw));
        assert_eq!(parse_key(b"07"), None);
        assert_eq!(parse_key("zz".repeat(32).as_bytes()), None);
    }
}
