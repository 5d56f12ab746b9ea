//! One full decision in process: entity slice from redb plus every Cedar call, no commit.
//!
//! Two stores: 1,000 users / 100 tools / 10,000 grants, and 100,000 users / 1,000 tools /
//! 1,000,000 grants. Criterion reports the mean and median; afterwards a plain loop of
//! 20,000 decisions per store prints p50/p99/max, which criterion does not.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use chrono::Utc;
use clearance::domain::{Role, SubmitRequest};
use clearance::service::{Actor, Service};
use clearance::store::Store;
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Size {
    label: &'static str,
    users: usize,
    tools: usize,
    grants: usize,
}

const SIZES: [Size; 2] = [
    Size {
        label: "small_1k_users_100_tools_10k_grants",
        users: 1_000,
        tools: 100,
        grants: 10_000,
    },
    Size {
        label: "large_100k_users_1k_tools_1m_grants",
        users: 100_000,
        tools: 1_000,
        grants: 1_000_000,
    },
];

fn service(size: &Size, dir: &std::path::Path) -> Service {
    let store = Store::open(dir).unwrap();
    common::seed(&store, size.users, size.tools, size.grants, false);
    common::start(store, Utc::now())
}

fn body(i: usize, size: &Size) -> SubmitRequest {
    // A different user and tool each time, so no lookup is served from a warm path only.
    let user = (i * 7919) % size.users;
    let tool = (i * 104_729) % size.tools;
    serde_json::from_value(serde_json::json!({
        "issue_key": format!("BENCH-{}", i + 1),
        "requester": format!("user{user}@example.com"),
        "tool": format!("tool-{tool}"),
        "purpose": "Benchmark the decision path",
        "duration_days": 14,
    }))
    .unwrap()
}

fn percentiles(label: &str, service: &Service, actor: &Actor, size: &Size) {
    let mut times: Vec<Duration> = (0..20_000)
        .map(|i| {
            let b = body(i, size);
            let started = Instant::now();
            black_box(service.evaluate(actor, b).unwrap());
            started.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "{label}: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}  (n = {})",
        at(0.5),
        at(0.9),
        at(0.99),
        times[times.len() - 1],
        times.len()
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(50)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let actor = Actor {
        token_id: "bench".into(),
        role: Role::Automation,
        subject: None,
    };
    // `cargo bench --bench decide -- small` builds and measures only the matching store.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a != "decide");
    let sizes: Vec<&Size> = SIZES
        .iter()
        .filter(|s| filter.as_ref().is_none_or(|f| s.label.contains(f.as_str())))
        .collect();
    let mut report = Vec::new();
    for size in sizes.iter().copied() {
        let dir = tempfile::tempdir().unwrap();
        let seeding = Instant::now();
        let service = service(size, dir.path());
        eprintln!("{}: seeded in {:?}", size.label, seeding.elapsed());
        let mut i = 0usize;
        criterion.bench_function(&format!("decide/{}", size.label), |b| {
            b.iter(|| {
                i += 1;
                black_box(service.evaluate(&actor, body(i, size)).unwrap())
            })
        });
        report.push((size.label, service));
    }
    for ((label, service), size) in report.iter().zip(sizes) {
        percentiles(label, service, &actor, size);
    }
    criterion.final_summary();
}
