//! `raft-kv`: run the walkthrough, a node, a client call, or the benchmark.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use lsm_raft::Request;
use openraft::BasicNode;
use raft_kv::Error;
use raft_kv::client::Client;
use raft_kv::cluster::StoreKind;
use raft_kv::node::{Node, Store};
use raft_kv::wire::{self, Call, Reply};

#[derive(Parser)]
#[command(about = "A replicated key-value store: openraft nodes on the lsm engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stores {
    Lsm,
    Memory,
    Both,
}

#[derive(Subcommand)]
enum Command {
    /// Three nodes in this process: writes, a read, the leader killed, more writes,
    /// the old leader restarted.
    Demo {
        /// Where the nodes keep their stores (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Runs one node until the process is killed.
    Node {
        /// The node's id (1, 2, 3, ...).
        #[arg(long)]
        id: u64,
        /// The loopback address to serve on, e.g. 127.0.0.1:21001.
        #[arg(long)]
        listen: String,
        /// The node's store directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Makes the cluster (once, on one node): `--member 1=127.0.0.1:21001` per node.
    Init {
        /// The node to ask.
        #[arg(long)]
        node: String,
        /// A member as `id=address`.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
    },
    /// Sets a key.
    Put {
        /// The nodes' addresses, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        key: String,
        value: String,
    },
    /// Reads a key linearizably.
    Get {
        /// The nodes' addresses, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        key: String,
    },
    /// Removes a key.
    Delete {
        /// The nodes' addresses, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        key: String,
    },
    /// Each node's view: leader, term, last applied index.
    Status {
        /// The nodes' addresses, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
    },
    /// Replicated writes per second on three nodes in this process.
    Bench {
        /// The storage under the nodes; `both` alternates them round by round.
        #[arg(long, value_enum, default_value_t = Stores::Both)]
        store: Stores,
        /// Writes per round.
        #[arg(long, default_value_t = 20_000)]
        writes: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Value size in bytes.
        #[arg(long, default_value_t = 100)]
        value_size: usize,
        /// Rounds per store (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Where the engine's stores go, in a fresh directory removed afterwards
        /// (default: under the system's temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("raft-kv: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("raft-kv: {error}");
            ExitCode::FAILURE
        }
    }
}

fn client(nodes: Vec<String>) -> Client {
    Client::new(nodes, Duration::from_secs(10))
}

async fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Demo { dir } => {
            let temp = tempfile::tempdir()?;
            let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
            raft_kv::demo(dir, &mut std::io::stdout()).await
        }
        Command::Node { id, listen, dir } => {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let node = Node::start(id, listener, &Store::Lsm(dir)).await?;
            println!("node {id} serving on {}", node.addr());
            std::future::pending::<()>().await;
            Ok(())
        }
        Command::Init { node, members } => {
            let mut parsed = BTreeMap::new();
            for member in members {
                let (id, addr) = member
                    .split_once('=')
                    .ok_or_else(|| format!("{member}: expected id=address"))?;
                parsed.insert(id.parse::<u64>()?, BasicNode::new(addr));
            }
            let mut stream = tokio::net::TcpStream::connect(&node).await?;
            match wire::call(&mut stream, &Call::Initialize(parsed)).await? {
                Reply::Initialize(outcome) => outcome?,
                reply => return Err(format!("unexpected reply {reply:?}").into()),
            }
            println!("initialized");
            Ok(())
        }
        Command::Put { nodes, key, value } => {
            let request = Request::Set {
                key: key.into_bytes(),
                value: value.into_bytes(),
            };
            let response = client(nodes).write(request).await?;
            println!("ok (log index {})", response.log_index);
            Ok(())
        }
        Command::Get { nodes, key } => {
            match client(nodes).read(key.as_bytes()).await? {
                Some(value) => println!("{}", String::from_utf8_lossy(&value)),
                None => println!("(not found)"),
            }
            Ok(())
        }
        Command::Delete { nodes, key } => {
            let request = Request::Delete {
                key: key.into_bytes(),
            };
            let response = client(nodes).write(request).await?;
            println!("ok (log index {})", response.log_index);
            Ok(())
        }
        Command::Status { nodes } => {
            for addr in nodes {
                match Client::status(&addr).await {
                    Ok(status) => println!(
                        "{addr}: node {}, leader {:?}, term {}, applied {:?}",
                        status.id, status.leader, status.term, status.applied
                    ),
                    Err(error) => println!("{addr}: {error}"),
                }
            }
            Ok(())
        }
        Command::Bench {
            store,
            writes,
            clients,
            value_size,
            rounds,
            dir,
        } => bench(store, writes, clients, value_size, rounds, dir).await,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

async fn bench(
    store: Stores,
    writes: usize,
    clients: usize,
    value_size: usize,
    rounds: usize,
    dir: Option<PathBuf>,
) -> Result<(), Error> {
    let kinds: &[StoreKind] = match store {
        Stores::Lsm => &[StoreKind::Lsm],
        Stores::Memory => &[StoreKind::Memory],
        Stores::Both => &[StoreKind::Lsm, StoreKind::Memory],
    };
    let base = match dir {
        Some(dir) => {
            lsm::fs::Fs::create_dir_all(&lsm::fs::StdFs, &dir)?;
            tempfile::tempdir_in(dir)?
        }
        None => tempfile::tempdir()?,
    };
    println!(
        "replicated writes: 3 nodes, {writes} sets of {value_size} bytes, {clients} clients, {rounds} rounds"
    );
    let mut results: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds.max(1) {
        // Rotate which store goes first, so neither always runs on a cold machine.
        for offset in 0..kinds.len() {
            let kind = kinds[(round + offset) % kinds.len()];
            let name = match kind {
                StoreKind::Lsm => "lsm (log synced)",
                StoreKind::Memory => "memory",
            };
            let dir = base.path().join(format!("round-{round}-{offset}"));
            let run = raft_kv::bench(kind, dir, writes, clients, value_size).await?;
            println!("round {round}: {name}: {:.0} writes/s", run.writes_per_sec);
            results.entry(name).or_default().push(run.writes_per_sec);
        }
    }
    let mut medians = BTreeMap::new();
    for (name, mut values) in results {
        let value = median(&mut values);
        println!("median {name}: {value:.0} writes/s");
        medians.insert(name, value);
    }
    if let (Some(lsm), Some(memory)) = (medians.get("lsm (log synced)"), medians.get("memory")) {
        println!("lsm / memory: {:.2}x", lsm / memory);
    }
    Ok(())
}
