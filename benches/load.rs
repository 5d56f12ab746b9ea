//! HTTP load on the real server binary, as JSM automation would drive it.
//!
//! Seeds a data folder (1,000 users, 100 tools, 100,000 grants, half of them expired history),
//! starts `clearance serve` on it with durable commits, then for 1, 16 and 64 concurrent
//! clients, each on its own keep-alive connection, submits `POST /v1/requests` with distinct
//! issue keys for a fixed time. Prints throughput, latency percentiles (HDR histogram), errors,
//! the CPU time the server and this generator used per decision (they share the machine's
//! cores), the server's own time per decision from its `/metrics` histogram (mean, and the
//! share within 0.5 ms: the latency without HTTP and the network) and the server's peak
//! resident memory; then kills the server (SIGKILL) and checks that every acknowledged request
//! is in the store. Before the levels and after them it measures two floors no decision can go
//! below on this machine at that moment: a 4 KiB write with `fdatasync` in the data folder (back
//! to back, and after 0.4 ms of CPU work as in a decision), and a `GET /healthz` round trip.
//!
//! `cargo bench --bench load` (10 s per level); `-- --secs 3` for a shorter run,
//! `-- --clients 64` for one level (`-- --clients 1,64,64,1` for levels in that order),
//! `-- --repeat 3` to make the whole run three times, each on a freshly seeded store and a new
//! server, and print each level's median and range (the VM moves by the minute). A list that
//! names heavy levels before a light one measures the light one on the store they grew.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::zombie_processes,
    clippy::panic
)]

mod common;
// The server binary, started the way the integration tests start it.
#[path = "../tests/common/mod.rs"]
mod binary;
#[path = "load/measure.rs"]
mod measure;
#[path = "load/report.rs"]
mod report;

use binary::TOKEN;

use bytes::Bytes;
use clearance::domain::IssueKey;
use clearance::store::{Queries, Store};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use measure::{DecisionTime, cpu_micros_per, cpu_ticks, histogram, ms, peak_rss_kib, record_since};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const USERS: usize = 1_000;
const TOOLS: usize = 100;
const GRANTS: usize = 100_000;

struct Args {
    secs: u64,
    levels: Vec<usize>,
    /// How many rounds: each seeds a fresh store, starts a server on it and runs the levels.
    repeat: usize,
    /// How long each client pauses between an answer and its next request (at least: tokio's
    /// timer ticks in milliseconds); zero sends back to back.
    pause: Duration,
}

fn args() -> Args {
    let mut args = Args {
        secs: 10,
        levels: vec![1, 16, 64],
        repeat: 1,
        pause: Duration::ZERO,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => args.secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--repeat" => {
                args.repeat = it.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            }
            "--pause-us" => {
                let us = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                args.pause = Duration::from_micros(us);
            }
            "--clients" => {
                let list = it.next().unwrap_or_default();
                args.levels = list.split(',').filter_map(|n| n.parse().ok()).collect();
            }
            _ => {} // `--bench` and criterion-style flags cargo passes along
        }
    }
    args
}

/// The server, killed when this is dropped: also when the bench panics (a closed output
/// pipe, a failed check), so that no server is left running behind it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path) -> (Server, String) {
    let (child, base, _) = binary::spawn_server(data, &binary::repo().join("policies"), &[]);
    (Server(child), base)
}

struct Level {
    clients: usize,
    done: u64,
    errors: u64,
    elapsed: Duration,
    histogram: Histogram<u64>,
    acknowledged: Vec<String>,
}

/// A keep-alive HTTP/1.1 connection to `addr`, without Nagle's delay.
async fn connect(addr: SocketAddr) -> http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    sender
}

/// One client: its own keep-alive connection, requests back to back until `until`.
///
/// The client is hyper's bare HTTP/1.1 connection with bodies formatted in place, so that
/// the generator, which shares the machine's cores with the server, takes as little of
/// them as it can (reqwest took about 80 µs of CPU per request here, in the measured path).
/// `level` is the level's place in the list, which keeps issue keys apart between levels (each
/// round has a store of its own).
async fn client(
    addr: SocketAddr,
    level: usize,
    id: usize,
    until: Instant,
    pause: Duration,
) -> Level {
    let mut sender = connect(addr).await;
    let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap();
    let mut histogram = histogram();
    let (mut acknowledged, mut errors) = (Vec::new(), 0);
    let started = Instant::now();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let key = format!("L{level}C{id}-{n}");
        // Users and tools rotate so that requests differ; many pairs already hold a grant.
        let seq = id * 7_919 + n;
        let body = format!(
            r#"{{"issue_key":"{key}","requester":"user{}@example.com","tool":"tool-{}","purpose":"Draft customer emails","duration_days":14,"project":"AIR","request_type":"42"}}"#,
            seq % USERS,
            (seq / USERS + id) % TOOLS
        );
        let request = Request::post("/v1/requests")
            .header(HOST, "127.0.0.1")
            .header(AUTHORIZATION, bearer.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        if sender.ready().await.is_err() {
            errors += 1;
            break;
        }
        let sent = Instant::now();
        let ok = match sender.send_request(request).await {
            Ok(r) => r.status() == 201 && r.into_body().collect().await.is_ok(),
            Err(_) => false,
        };
        if ok {
            record_since(&mut histogram, sent);
            acknowledged.push(key);
        } else {
            errors += 1;
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    Level {
        clients: 1,
        done: acknowledged.len() as u64,
        errors,
        elapsed: started.elapsed(),
        histogram,
        acknowledged,
    }
}

async fn run_level(addr: SocketAddr, level: usize, clients: usize, args: &Args) -> Level {
    let until = Instant::now() + Duration::from_secs(args.secs);
    let tasks: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(addr, level, id, until, args.pause)))
        .collect();
    let mut total = Level {
        clients,
        done: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        histogram: histogram(),
        acknowledged: Vec::new(),
    };
    for task in tasks {
        let level = task.await.unwrap();
        total.done += level.done;
        total.errors += level.errors;
        total.elapsed = total.elapsed.max(level.elapsed);
        total.histogram.add(&level.histogram).unwrap();
        total.acknowledged.extend(level.acknowledged);
    }
    total
}

/// What one round measured.
struct Round {
    /// One table row per level.
    rows: Vec<String>,
    /// Per level: decisions/s, p50 and p99 (ms).
    figures: Vec<[f64; 3]>,
    /// The floors before the levels and after them.
    floors: [String; 2],
    errors: u64,
    acknowledged: usize,
    /// Acknowledged requests not in the store after SIGKILL.
    missing: usize,
    peak_kib: u64,
    /// How long reopening the store after SIGKILL took.
    reopened: Duration,
}

/// Seeds a fresh data folder, starts the server on it, runs the levels in turn, then kills
/// the server (SIGKILL) and counts the acknowledged requests the reopened store lacks.
fn run_round(args: &Args, runtime: &Runtime) -> Round {
    let data = tempfile::tempdir().unwrap();
    let seeding = Instant::now();
    {
        let store = Store::open(data.path()).unwrap();
        common::seed(&store, USERS, TOOLS, GRANTS, true);
    }
    eprintln!(
        "seeded {USERS} users, {TOOLS} tools, {GRANTS} grants in {:?}",
        seeding.elapsed()
    );
    let (mut server, base) = serve(data.path());
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let before = measure::floors(data.path(), runtime, addr, "before");
    let server_pid = server.0.id().to_string();
    let (mut rows, mut figures, mut errors, mut acknowledged) = (vec![], vec![], 0, vec![]);
    for (index, &clients) in args.levels.iter().enumerate() {
        let cpu = (cpu_ticks(&server_pid), cpu_ticks("self"));
        let inside = runtime.block_on(DecisionTime::fetch(addr));
        let level = runtime.block_on(run_level(addr, index, clients, args));
        let (inside_mean, inside_share) = runtime.block_on(DecisionTime::fetch(addr)).since(inside);
        let server_cpu = cpu_micros_per(cpu.0, cpu_ticks(&server_pid), level.done);
        let own_cpu = cpu_micros_per(cpu.1, cpu_ticks("self"), level.done);
        let h = &level.histogram;
        let throughput = level.done as f64 / level.elapsed.as_secs_f64();
        figures.push([throughput, ms(h, 0.50), ms(h, 0.99)]);
        rows.push(format!(
            "| {:>3} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>7.2} | {:>6} | {:>6.0} | {:>6.0} | {:>6.3} | {:>5.1} |",
            level.clients,
            throughput,
            ms(h, 0.50),
            ms(h, 0.90),
            ms(h, 0.99),
            h.max() as f64 / 1_000.0,
            level.errors,
            server_cpu,
            own_cpu,
            inside_mean,
            inside_share,
        ));
        eprintln!("{}", rows.last().unwrap());
        errors += level.errors;
        acknowledged.extend(level.acknowledged);
    }
    let after = measure::floors(data.path(), runtime, addr, "after");
    let peak_kib = peak_rss_kib(server.0.id());
    server.0.kill().unwrap(); // SIGKILL: what was acknowledged must already be durable
    server.0.wait().unwrap();

    let reopening = Instant::now();
    let store = Store::open(data.path()).unwrap();
    let reopened = reopening.elapsed();
    let read = store.read().unwrap();
    let missing = acknowledged
        .iter()
        .filter(|key| {
            let key = IssueKey::parse("k", key).unwrap();
            read.request_by_issue(&key).unwrap().is_none()
        })
        .count();
    Round {
        rows,
        figures,
        floors: [before, after],
        errors,
        acknowledged: acknowledged.len(),
        missing,
        peak_kib,
        reopened,
    }
}

fn main() {
    let args = args();
    // The clients share one thread, so that the generator takes at most one core from the
    // server it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rounds: Vec<Round> = (0..args.repeat)
        .map(|_| run_round(&args, &runtime))
        .collect();
    report::print(&args, &rounds);
    let missing: usize = rounds.iter().map(|r| r.missing).sum();
    assert_eq!(missing, 0, "acknowledged decisions are missing");
}
