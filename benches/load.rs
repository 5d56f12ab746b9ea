//! HTTP load on the real server binary, as JSM automation would drive it.
//!
//! Seeds a data folder (1,000 users, 100 tools, 100,000 grants, half of them expired history),
//! starts `clearance serve` on it with durable commits, then for 1, 16 and 64 concurrent
//! clients, each on its own keep-alive connection, submits `POST /v1/requests` with distinct
//! issue keys for a fixed time. Prints throughput, latency percentiles (HDR histogram), errors
//! and the server's peak resident memory; then kills the server (SIGKILL) and checks that
//! every acknowledged request is in the store.
//!
//! `cargo bench --bench load` (10 s per level); `-- --secs 3` for a shorter run,
//! `-- --clients 64` for one level.
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

use clearance::domain::IssueKey;
use clearance::store::{Queries, Store};
use hdrhistogram::Histogram;
use serde_json::json;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

const USERS: usize = 1_000;
const TOOLS: usize = 100;
const GRANTS: usize = 100_000;

struct Args {
    secs: u64,
    levels: Vec<usize>,
}

fn args() -> Args {
    let mut args = Args {
        secs: 10,
        levels: vec![1, 16, 64],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => args.secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--clients" => {
                args.levels = it.next().and_then(|v| v.parse().ok()).into_iter().collect();
            }
            _ => {} // `--bench` and criterion-style flags cargo passes along
        }
    }
    args
}

fn serve(data: &Path) -> (Child, String) {
    let (child, base, _) = binary::spawn_server(data, &binary::repo().join("policies"), &[]);
    (child, base)
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

struct Level {
    clients: usize,
    done: u64,
    errors: u64,
    elapsed: Duration,
    histogram: Histogram<u64>,
    acknowledged: Vec<String>,
}

/// One client: its own connection, requests back to back until `until`.
async fn client(base: String, level: usize, id: usize, until: Instant) -> Level {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut acknowledged, mut errors) = (Vec::new(), 0);
    let started = Instant::now();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let key = format!("L{level}C{id}-{n}");
        // Users and tools rotate so that requests differ; many pairs already hold a grant.
        let seq = id * 7_919 + n;
        let body = json!({"issue_key": key, "requester": format!("user{}@example.com", seq % USERS),
            "tool": format!("tool-{}", (seq / USERS + id) % TOOLS), "purpose": "Draft customer emails",
            "duration_days": 14, "project": "AIR", "request_type": "42"});
        let sent = Instant::now();
        let response = http
            .post(format!("{base}/v1/requests"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await;
        let ok = match response {
            Ok(r) => r.status() == 201 && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if ok {
            histogram.saturating_record(micros.max(1));
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

async fn run_level(base: &str, clients: usize, secs: u64) -> Level {
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(base.to_owned(), clients, id, until)))
        .collect();
    let mut total = Level {
        clients,
        done: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        histogram: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
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
    // The clients share one thread, so that the generator takes at most one core from the
    // server it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut acknowledged = Vec::new();
    let mut rows = Vec::new();
    for &clients in &args.levels {
        let level = runtime.block_on(run_level(&base, clients, args.secs));
        let h = &level.histogram;
        rows.push(format!(
            "| {:>3} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>7.2} | {:>6} |",
            level.clients,
            level.done as f64 / level.elapsed.as_secs_f64(),
            ms(h, 0.50),
            ms(h, 0.90),
            ms(h, 0.99),
            h.max() as f64 / 1_000.0,
            level.errors
        ));
        eprintln!("{}", rows.last().unwrap());
        acknowledged.extend(level.acknowledged);
    }
    let peak = peak_rss_kib(server.id());
    server.kill().unwrap(); // SIGKILL: what was acknowledged must already be durable
    server.wait().unwrap();

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
    println!("| clients | decisions/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
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
    assert_eq!(missing, 0, "acknowledged decisions are missing");
}
