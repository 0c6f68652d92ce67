//! The command line of `lsm-bench`.

use std::path::PathBuf;

use crate::db_bench::sections::{all as every_workload, log_workloads, workloads as all_workloads};
use crate::settings::{OurCompression, Profile, Settings};

/// Groups of layer workloads (run in this process, ours only).
pub const LAYER_GROUPS: &[&str] = &["table", "blob", "block", "ingest", "compression"];

/// Every flag, parsed.
#[derive(Clone, Debug)]
pub struct Flags {
    /// Keys of the main workloads.
    pub num: u64,
    /// Operations of the read workloads (default: `num`, at most 200,000).
    pub reads: Option<u64>,
    /// Bytes of each value.
    pub value_bytes: usize,
    /// Bytes of each key.
    pub key_bytes: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// db_bench workloads to run, in their fixed order.
    pub workloads: Vec<&'static str>,
    /// Layer groups to run.
    pub groups: Vec<String>,
    /// Where databases go (a fresh directory below it per run).
    pub db: PathBuf,
    /// The settings profile.
    pub profile: Profile,
    /// Repetitions, interleaved across engines.
    pub runs: usize,
    /// Whether to run the peers beside ours.
    pub peers: bool,
    /// The engines to run (by name), when not every one this build has.
    pub engines: Option<Vec<String>>,
    /// Where the results go.
    pub out_dir: PathBuf,
    /// Filter bits per key of every engine.
    pub filter_bits: f32,
    /// Our filter bits per key, where they differ.
    pub lsm_filter_bits: Option<f32>,
    /// Our data-block compression (`--compression`).
    pub lsm_compression: OurCompression,
    /// Whether our files are encrypted (`--encrypt`).
    pub lsm_encrypt: bool,
    /// Whether our tree orders keys through a comparator (`--custom-order`).
    pub lsm_custom_order: bool,
    /// Whether our cache keeps a row cache (`--row-cache`).
    pub lsm_row_cache: bool,
    /// The first of our levels kept in a level route (`--route`).
    pub lsm_route: Option<u8>,
    /// Our block locator's precision, `None` for none (`--locator`).
    pub lsm_locator: Option<lsm::config::LocatorPrecision>,
    /// Set in a child process: the engine, the repetition and the results file.
    pub child: Option<(String, usize, PathBuf)>,
    /// Report these samples (a run's `db_bench-samples.jsonl`) instead of running.
    pub from_samples: Option<PathBuf>,
    /// Set in a child process: the value corpus the parent wrote.
    pub corpus: Option<PathBuf>,
    /// Seconds one engine's repetition may run before it is stopped and its missing
    /// workloads are recorded as failed (an engine that hangs must not stall the run).
    pub child_timeout_secs: u64,
}

/// What `--help` prints.
pub const USAGE: &str = "usage: lsm-bench [--num N] [--reads N] [--value-size B] [--key-size B] \
[--seed S] [--workloads LIST] [--db DIR] [--profile default|deep] [--runs N] [--peers] \
[--engines lsm,rocksdb,fjall-lsm-tree,coordinode] \
[--filter-bits B] [--lsm-filter-bits B] [--compression none|lz4|zstd] [--encrypt] [--custom-order] [--row-cache] [--route LEVEL] [--locator off|block|restart|entry] [--out DIR] [--from-samples FILE] \
[--child-timeout SECONDS] [--smoke]
  LIST: comma-separated db_bench workloads (fillseq, fillrandom, overwrite, readrandom, readhot,
  readmissing, seekrandom, readseq, readreverse, readwhilewriting, deleterandom,
  rangedelete, mergerandom, changescan, changescan-full, fillrandom-4k, readrandom-4k,
  fillrandom-blob, readrandom-blob, overwrite-blob, bulkload, and the -compacted reads;
  'db_bench' for all of these; 'log' for the writes through each engine's write-ahead
  log: fillrandom-log and overwrite-log with -sync and -sync1k, -t4, and
  fillrandom-log-ks10/-ks100) and layer
  groups (table, blob, block, ingest, compression; 'layers' for the first three)";

/// The values of `--locator` and the precision each names (`None`: no locator).
const LOCATORS: [(&str, Option<lsm::config::LocatorPrecision>); 4] = [
    ("off", None),
    ("block", Some(lsm::config::LocatorPrecision::Block)),
    ("restart", Some(lsm::config::LocatorPrecision::Restart)),
    ("entry", Some(lsm::config::LocatorPrecision::Entry)),
];

impl Default for Flags {
    fn default() -> Self {
        Self {
            num: 1_000_000,
            reads: None,
            value_bytes: 100,
            key_bytes: 16,
            seed: 42,
            workloads: all_workloads(),
            groups: Vec::new(),
            db: std::env::temp_dir(),
            profile: Profile::Default,
            runs: 3,
            peers: false,
            engines: None,
            out_dir: PathBuf::from("target/bench"),
            filter_bits: 10.0,
            lsm_filter_bits: None,
            lsm_compression: OurCompression::None,
            lsm_encrypt: false,
            lsm_custom_order: false,
            lsm_row_cache: false,
            lsm_route: None,
            lsm_locator: Some(lsm::config::LocatorPrecision::Block),
            child: None,
            corpus: None,
            from_samples: None,
            child_timeout_secs: 3600,
        }
    }
}

impl Flags {
    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// A message naming the flag that is wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--peers" => flags.peers = true,
                "--encrypt" => flags.lsm_encrypt = true,
                "--custom-order" => flags.lsm_custom_order = true,
                "--row-cache" => flags.lsm_row_cache = true,
                "--smoke" => {
                    flags.workloads = every_workload();
                    flags.num = 2_000;
                    flags.runs = 1;
                    flags.groups = vec!["ingest".to_owned()];
                }
                "--help" | "-h" => return Err(USAGE.to_owned()),
                _ => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
                    flags.set(&arg, &value)?;
                }
            }
        }
        Ok(flags)
    }

    fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        let number = || -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag} takes a positive number, not {value}"))
        };
        let size = || number().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        match flag {
            "--num" => self.num = number()?,
            "--reads" => self.reads = Some(number()?),
            "--value-size" => self.value_bytes = size()?,
            "--key-size" => self.key_bytes = size()?,
            "--seed" => self.seed = value.parse().map_err(|_| format!("bad --seed {value}"))?,
            "--runs" => self.runs = size()?,
            "--child-timeout" => self.child_timeout_secs = number()?,
            "--db" => self.db = PathBuf::from(value),
            "--filter-bits" => self.filter_bits = bits(flag, value)?,
            "--engines" => {
                self.engines = Some(value.split(',').map(str::to_owned).collect());
                self.peers = true;
            }
            "--corpus" => self.corpus = Some(PathBuf::from(value)),
            "--from-samples" => self.from_samples = Some(PathBuf::from(value)),
            "--lsm-filter-bits" => self.lsm_filter_bits = Some(bits(flag, value)?),
            "--locator" => {
                self.lsm_locator = *LOCATORS
                    .iter()
                    .find(|(name, _)| *name == value)
                    .map(|(_, locator)| locator)
                    .ok_or_else(|| {
                        format!("--locator is off, block, restart or entry, not {value}")
                    })?;
            }
            "--route" => {
                self.lsm_route = Some(
                    value
                        .parse::<u8>()
                        .ok()
                        .filter(|level| (1..7).contains(level))
                        .ok_or_else(|| format!("--route takes a level from 1 to 6, not {value}"))?,
                );
            }
            "--compression" => {
                self.lsm_compression = OurCompression::parse(value)
                    .ok_or_else(|| format!("--compression is none, lz4 or zstd, not {value}"))?;
            }
            "--out" => self.out_dir = PathBuf::from(value),
            "--profile" => {
                self.profile = Profile::parse(value)
                    .ok_or_else(|| format!("--profile is default or deep, not {value}"))?;
            }
            "--workloads" => self.set_workloads(value)?,
            "--child" => {
                let mut parts = value.splitn(3, ':');
                let (Some(engine), Some(rep), Some(out)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!("bad --child {value}"));
                };
                let rep = rep.parse().map_err(|_| format!("bad --child {value}"))?;
                self.child = Some((engine.to_owned(), rep, PathBuf::from(out)));
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
        Ok(())
    }

    fn set_workloads(&mut self, list: &str) -> Result<(), String> {
        let mut workloads = Vec::new();
        let mut groups = Vec::new();
        for name in list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            match name {
                "db_bench" => workloads.extend(all_workloads()),
                "log" => workloads.extend(log_workloads()),
                "layers" => groups.extend(["table", "blob", "block"].map(str::to_owned)),
                _ if LAYER_GROUPS.contains(&name) => groups.push(name.to_owned()),
                _ => workloads.push(
                    every_workload()
                        .into_iter()
                        .find(|workload| *workload == name)
                        .ok_or_else(|| format!("unknown workload {name}\n{USAGE}"))?,
                ),
            }
        }
        // db_bench workloads run in their fixed order (later ones read what earlier wrote).
        self.workloads = every_workload()
            .into_iter()
            .filter(|workload| workloads.contains(workload))
            .collect();
        self.groups = groups;
        Ok(())
    }

    /// The settings of the run: the profile's, with the filter flags.
    pub fn settings(&self) -> Settings {
        Settings {
            filter_bits_per_key: self.filter_bits,
            our_filter_bits_per_key: self.lsm_filter_bits,
            our_compression: self.lsm_compression,
            our_encryption: self.lsm_encrypt,
            our_custom_order: self.lsm_custom_order,
            our_row_cache: self.lsm_row_cache,
            our_route: self.lsm_route,
            our_locator: self.lsm_locator,
            ..self.profile.settings()
        }
    }

    /// Read operations per read workload.
    pub fn reads(&self) -> u64 {
        self.reads.unwrap_or(self.num.min(200_000))
    }

    /// The flags a child process runs `engine`'s repetition `rep` with.
    pub fn child_args(
        &self,
        engine: &str,
        rep: usize,
        out: &std::path::Path,
        corpus: &std::path::Path,
    ) -> Vec<String> {
        let mut args = vec![
            "--num".to_owned(),
            self.num.to_string(),
            "--reads".to_owned(),
            self.reads().to_string(),
            "--value-size".to_owned(),
            self.value_bytes.to_string(),
            "--key-size".to_owned(),
            self.key_bytes.to_string(),
            "--seed".to_owned(),
            self.seed.to_string(),
            "--workloads".to_owned(),
            self.workloads.join(","),
            "--db".to_owned(),
            self.db.display().to_string(),
            "--profile".to_owned(),
            self.profile.name().to_owned(),
            "--filter-bits".to_owned(),
            self.filter_bits.to_string(),
        ];
        if let Some(bits) = self.lsm_filter_bits {
            args.extend(["--lsm-filter-bits".to_owned(), bits.to_string()]);
        }
        args.extend([
            "--compression".to_owned(),
            self.lsm_compression.name().to_owned(),
        ]);
        if self.lsm_encrypt {
            args.push("--encrypt".to_owned());
        }
        if self.lsm_custom_order {
            args.push("--custom-order".to_owned());
        }
        if self.lsm_row_cache {
            args.push("--row-cache".to_owned());
        }
        if let Some(level) = self.lsm_route {
            args.extend(["--route".to_owned(), level.to_string()]);
        }
        if let Some((name, _)) = LOCATORS
            .iter()
            .find(|(_, locator)| *locator == self.lsm_locator)
        {
            args.extend(["--locator".to_owned(), (*name).to_owned()]);
        }
        args.extend([
            "--corpus".to_owned(),
            corpus.display().to_string(),
            "--child".to_owned(),
            format!("{engine}:{rep}:{}", out.display()),
        ]);
        args
    }
}

fn bits(flag: &str, value: &str) -> Result<f32, String> {
    value
        .parse::<f32>()
        .ok()
        .filter(|bits| (1.0..=64.0).contains(bits))
        .ok_or_else(|| format!("{flag} takes bits per key from 1 to 64, not {value}"))
}
