//! HTTP load on the real server binary, as JSM automation would drive it.
//!
//! Seeds a data folder (1,000 users, 100 tools, 100,000 grants, half of them expired history),
//! starts `clearance serve` on it with durable commits, then for 1, 16 and 64 concurrent
//! clients, each on its own keep-alive connection, submits `POST /v1/requests` with distinct
//! issue keys for a fixed time. Prints throughput, latency percentiles (HDR histogram), errors,
//! the CPU time the server and this generator used per decision (they share the machine's
//! cores) and the server's peak resident memory; then kills the server (SIGKILL) and checks
//! that every acknowledged request is in the store. Before the levels and after them it
//! measures two floors no decision can go below on this machine at that moment: a 4 KiB
//! write with `fdatasync` in the data folder (back to back, and after 0.4 ms of CPU work as
//! in a decision), and a `GET /healthz` round trip.
//!
//! `cargo bench --bench load` (10 s per level); `-- --secs 3` for a shorter run,
//! `-- --clients 64` for one level, `-- --repeat 3` to run the levels three times in turn on
//! the same server and print each level's median and range (the VM moves by the minute).
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
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const USERS: usize = 1_000;
const TOOLS: usize = 100;
const GRANTS: usize = 100_000;

struct Args {
    secs: u64,
    levels: Vec<usize>,
    /// How many times the levels run, one after another, on the same server.
    repeat: usize,
}

fn args() -> Args {
    let mut args = Args {
        secs: 10,
        levels: vec![1, 16, 64],
        repeat: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => args.secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--repeat" => {
                args.repeat = it.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            }
            "--clients" => {
                args.levels = it.next().and_then(|v| v.parse().ok()).into_iter().collect();
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

/// Peak resident memory of `pid` so far, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time `pid` has used so far (user and system, all threads), from `/proc/<pid>/stat`,
/// in clock ticks of 10 ms (Linux's `USER_HZ` is 100 on every architecture it runs on).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Microseconds of CPU per decision between two readings of [`cpu_ticks`].
fn cpu_micros_per(before: u64, after: u64, decisions: u64) -> f64 {
    // A reading that failed is 0: no figure rather than an overflow.
    after.saturating_sub(before) as f64 * 10_000.0 / decisions.max(1) as f64
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

/// How many times each floor is measured.
const FLOOR_SAMPLES: u64 = 1_000;
/// The CPU work before each write of the in-situ disk floor: about what a decision does
/// before its journal sync at one client.
const IN_SITU_WORK: Duration = Duration::from_micros(400);

/// A microsecond histogram for latencies up to a minute.
fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// Records the time since `since` in microseconds.
fn record_since(h: &mut Histogram<u64>, since: Instant) {
    let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(micros.max(1));
}

/// The disk's floor under a durable decision: a 4 KiB write and `fdatasync` into a
/// preallocated file in `dir` (what the journal does per commit), each after `busy` of CPU
/// work on this thread. Back to back (`busy` zero) is the least a sync takes; after work, as
/// a decision's sync comes after its HTTP, Cedar and table work, it takes longer here.
fn fsync_floor(dir: &Path, busy: Duration) -> Histogram<u64> {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fsync-floor");
    let file = std::fs::File::create(&path).unwrap();
    let page = [7u8; 4096];
    let len = 4096 * FLOOR_SAMPLES;
    file.write_all_at(&vec![0; len as usize], 0).unwrap();
    file.sync_all().unwrap();
    let mut h = histogram();
    for offset in (0..len).step_by(page.len()) {
        let working = Instant::now();
        while working.elapsed() < busy {
            std::hint::spin_loop();
        }
        let started = Instant::now();
        file.write_all_at(&page, offset).unwrap();
        file.sync_data().unwrap();
        record_since(&mut h, started);
    }
    std::fs::remove_file(path).unwrap();
    h
}

/// The HTTP floor: `GET /healthz` round trips on one keep-alive connection.
async fn healthz_floor(addr: SocketAddr) -> Histogram<u64> {
    let mut sender = connect(addr).await;
    let mut h = histogram();
    for _ in 0..FLOOR_SAMPLES {
        let request = Request::get("/healthz")
            .header(HOST, "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        sender.ready().await.unwrap();
        let started = Instant::now();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
        record_since(&mut h, started);
    }
    h
}

/// One client: its own keep-alive connection, requests back to back until `until`.
///
/// The client is hyper's bare HTTP/1.1 connection with bodies formatted in place, so that
/// the generator, which shares the machine's cores with the server, takes as little of
/// them as it can (reqwest took about 80 µs of CPU per request here, in the measured path).
async fn client(addr: SocketAddr, round: usize, level: usize, id: usize, until: Instant) -> Level {
    let mut sender = connect(addr).await;
    let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap();
    let mut histogram = histogram();
    let (mut acknowledged, mut errors) = (Vec::new(), 0);
    let started = Instant::now();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let key = format!("R{round}L{level}C{id}-{n}");
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

async fn run_level(addr: SocketAddr, round: usize, clients: usize, secs: u64) -> Level {
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(addr, round, clients, id, until)))
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

/// The median of some figures; NaN for none.
fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    match figures.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => figures[n / 2],
        n => (figures[n / 2 - 1] + figures[n / 2]) / 2.0,
    }
}

/// Some figures as "median (least–greatest)", with `decimals` places.
fn median_and_range(figures: Vec<f64>, decimals: usize) -> String {
    let min = figures.iter().copied().reduce(f64::min).unwrap_or(f64::NAN);
    let max = figures.iter().copied().reduce(f64::max).unwrap_or(f64::NAN);
    let median = median(figures);
    format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})")
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

fn main() {
    let args = args();
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
    // The clients share one thread, so that the generator takes at most one core from the
    // server it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The VM's disk and scheduler move by the minute, so the levels are read against what
    // the machine gave just before and just after them.
    let floors = |when: &str| {
        let disk = fsync_floor(data.path(), Duration::ZERO);
        let in_situ = fsync_floor(data.path(), IN_SITU_WORK);
        let http = runtime.block_on(healthz_floor(addr));
        let line = format!(
            "floors {when}: 4 KiB write + fdatasync p50 {:.2} ms, p99 {:.2} ms (after 0.4 ms of CPU work: p50 {:.2} ms); GET /healthz round trip p50 {:.2} ms, p99 {:.2} ms",
            ms(&disk, 0.50),
            ms(&disk, 0.99),
            ms(&in_situ, 0.50),
            ms(&http, 0.50),
            ms(&http, 0.99),
        );
        eprintln!("{line}");
        line
    };
    let floors_before = floors("before");
    let mut acknowledged = Vec::new();
    let mut errors = 0;
    let mut rows = Vec::new();
    let server_pid = server.0.id().to_string();
    // Per level, each round's (decisions/s, p50, p99), for the summary of repeated runs.
    let mut rounds: Vec<Vec<[f64; 3]>> = vec![Vec::new(); args.levels.len()];
    let runs =
        (0..args.repeat).flat_map(|round| args.levels.iter().enumerate().map(move |l| (round, l)));
    for (round, (index, &clients)) in runs {
        let cpu = (cpu_ticks(&server_pid), cpu_ticks("self"));
        let level = runtime.block_on(run_level(addr, round, clients, args.secs));
        let server_cpu = cpu_micros_per(cpu.0, cpu_ticks(&server_pid), level.done);
        let own_cpu = cpu_micros_per(cpu.1, cpu_ticks("self"), level.done);
        let h = &level.histogram;
        let throughput = level.done as f64 / level.elapsed.as_secs_f64();
        rounds[index].push([throughput, ms(h, 0.50), ms(h, 0.99)]);
        rows.push(format!(
            "| {:>3} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>7.2} | {:>6} | {:>6.0} | {:>6.0} |",
            level.clients,
            throughput,
            ms(h, 0.50),
            ms(h, 0.90),
            ms(h, 0.99),
            h.max() as f64 / 1_000.0,
            level.errors,
            server_cpu,
            own_cpu,
        ));
        eprintln!("{}", rows.last().unwrap());
        errors += level.errors;
        acknowledged.extend(level.acknowledged);
    }
    let floors_after = floors("after");
    let peak = peak_rss_kib(server.0.id());
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

    println!(
        "\nPOST /v1/requests, {} s per level, durable commits, real binary:",
        args.secs
    );
    println!(
        "| clients | decisions/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/decision | generator CPU µs/decision |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    if args.repeat > 1 {
        println!("median (min–max) over {} rounds:", args.repeat);
        println!("| clients | decisions/s | p50 ms | p99 ms |");
        println!("|---|---|---|---|");
        for (clients, figures) in args.levels.iter().zip(&rounds) {
            let column = |i: usize, decimals| {
                median_and_range(figures.iter().map(|f| f[i]).collect(), decimals)
            };
            println!(
                "| {clients:>3} | {} | {} | {} |",
                column(0, 0),
                column(1, 2),
                column(2, 2)
            );
        }
    }
    println!("{floors_before}\n{floors_after}");
    println!(
        "server peak resident memory: {:.1} MiB",
        peak as f64 / 1024.0
    );
    println!(
        "acknowledged {}; missing after SIGKILL and reopening the store: {missing}",
        acknowledged.len()
    );
    println!(
        "reopening the store after SIGKILL (applying the journal) took {:.2} s",
        reopened.as_secs_f64()
    );
    print_targets(&args.levels, &rounds, errors, missing, peak);
    assert_eq!(missing, 0, "acknowledged decisions are missing");
}

/// Each target of the load benchmark, met or missed, from the levels' medians (`rounds` holds
/// each level's (decisions/s, p50, p99) per round).
fn print_targets(
    levels: &[usize],
    rounds: &[Vec<[f64; 3]>],
    errors: u64,
    missing: usize,
    peak: u64,
) {
    let median_of = |clients: usize, figure: usize| {
        let at = levels.iter().position(|&c| c == clients)?;
        Some(median(rounds[at].iter().map(|f| f[figure]).collect()))
    };
    println!(
        "\ntargets (README, Performance; the median of the rounds where a level ran more than once):"
    );
    let verdicts = [
        (
            "≥ 5,000 decisions/s at 64 clients",
            median_of(64, 0).map(|v| (v >= 5_000.0, format!("{v:.0}/s"))),
        ),
        (
            "p99 < 20 ms at 64 clients",
            median_of(64, 2).map(|v| (v < 20.0, format!("{v:.2} ms"))),
        ),
        (
            "p50 < 0.5 ms at 1 client",
            median_of(1, 1).map(|v| (v < 0.5, format!("{v:.2} ms"))),
        ),
        ("zero errors", Some((errors == 0, errors.to_string()))),
        (
            "every acknowledged decision stored",
            Some((missing == 0, format!("{missing} missing"))),
        ),
        (
            "peak memory < 256 MiB",
            Some((
                peak < 256 * 1024,
                format!("{:.1} MiB", peak as f64 / 1024.0),
            )),
        ),
    ];
    for (target, verdict) in verdicts {
        match verdict {
            Some((true, figure)) => println!("  met     {target}: {figure}"),
            Some((false, figure)) => println!("  MISSED  {target}: {figure}"),
            None => println!("  not run {target}"),
        }
    }
}
