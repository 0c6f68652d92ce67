//! `lsm get` and `lsm scan`: reads at the newest seqno or at a given one.

use std::ops::Bound;

use clap::Args;
use lsm::{AbstractTree, Guard, SeqNo};

use crate::error::{CliError, Result, Status};
use crate::open::TreeArgs;
use crate::text::{self, Format};

/// Arguments of `lsm get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// The key (text, or hex with --hex-keys).
    pub key: String,
    /// Read as of this seqno (versions below it); the newest by default.
    #[arg(long)]
    pub seqno: Option<SeqNo>,
    /// Keys on the command line are hex.
    #[arg(long)]
    pub hex_keys: bool,
    /// How the value is printed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `lsm scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// The first key (inclusive).
    #[arg(long, conflicts_with = "prefix")]
    pub from: Option<String>,
    /// The key to stop before (exclusive).
    #[arg(long, conflicts_with = "prefix")]
    pub to: Option<String>,
    /// Only keys starting with this prefix.
    #[arg(long)]
    pub prefix: Option<String>,
    /// From the last key back.
    #[arg(long)]
    pub reverse: bool,
    /// Read as of this seqno (versions below it); the newest by default.
    #[arg(long)]
    pub seqno: Option<SeqNo>,
    /// Stop after this many pairs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Keys on the command line are hex.
    #[arg(long)]
    pub hex_keys: bool,
    /// How pairs are printed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A key from the command line.
fn key_arg(text: &str, hex: bool) -> Result<Vec<u8>> {
    if hex {
        text::parse_hex(text)
            .ok_or_else(|| CliError::new(Status::Usage, format!("{text:?} is not hex")))
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// Runs `lsm get`: exits [`Status::Negative`] when the key has no value.
pub fn get(args: &GetArgs) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let key = key_arg(&args.key, args.hex_keys)?;
    let seqno = args.seqno.unwrap_or(SeqNo::MAX);
    let Some(value) = tree.get(&key, seqno)? else {
        eprintln!("not found: {}", text::escaped(&key));
        return Ok(Status::Negative);
    };
    match args.format {
        Format::Text => println!("{}", text::escaped(&value)),
        Format::Hex => println!("{}", text::hex(&value)),
        Format::Json => println!("{}", text::pair(Format::Json, &key, &value)),
    }
    Ok(Status::Ok)
}

/// Runs `lsm scan`.
pub fn scan(args: &ScanArgs) -> Result<Status> {
    let tree = crate::open::open(&args.tree)?;
    let seqno = args.seqno.unwrap_or(SeqNo::MAX);
    let iter = if let Some(prefix) = &args.prefix {
        tree.prefix(key_arg(prefix, args.hex_keys)?, seqno, None)
    } else {
        let bound = |key: &Option<String>, inclusive: bool| -> Result<Bound<Vec<u8>>> {
            Ok(match key {
                None => Bound::Unbounded,
                Some(key) if inclusive => Bound::Included(key_arg(key, args.hex_keys)?),
                Some(key) => Bound::Excluded(key_arg(key, args.hex_keys)?),
            })
        };
        let range = (bound(&args.from, true)?, bound(&args.to, false)?);
        tree.range(range, seqno, None)
    };
    let iter: Box<dyn Iterator<Item = _>> = if args.reverse {
        Box::new(iter.rev())
    } else {
        Box::new(iter)
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for item in iter.take(args.limit.unwrap_or(usize::MAX)) {
        let (key, value) = item.into_inner()?;
        use std::io::Write as _;
        if writeln!(out, "{}", text::pair(args.format, &key, &value)).is_err() {
            // The reader went away (a pipe closed): nothing more to do.
            break;
        }
    }
    Ok(Status::Ok)
}
