//! One lifecycle sweep run (stale requests, escalation, expiry, recertification) when 1,000
//! active grants are due to expire, over a store of 10,000 and of 1,000,000 grants. The
//! sweeps walk time indexes from their start to the due point, so the cost should follow the
//! 1,000 due grants, not the store. Each sample first adds 1,000 fresh due grants (not timed),
//! then times the sweep with its commits (durable in the journal).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use clearance::domain::{Email, Grant, GrantState, RequestId, ToolId};
use clearance::service::Service;
use clearance::store::Store;
use criterion::{BatchSize, Criterion};
use std::time::{Duration, Instant};

const DUE: usize = 1_000;
const SIZES: [(&str, usize); 2] = [("10k_grants", 10_000), ("1m_grants", 1_000_000)];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

/// `n` active grants expiring at `expires_at`, over 10,000 users and 100 tools.
fn add_grants(store: &Store, n: usize, offset: usize, expires_at: DateTime<Utc>) {
    for chunk in (offset..offset + n).collect::<Vec<_>>().chunks(100_000) {
        store
            .write(|w| {
                for &g in chunk {
                    let user =
                        Email::parse("e", &format!("user{}@example.com", g % 10_000)).unwrap();
                    let tool = ToolId::parse("t", &format!("tool-{}", g % 100)).unwrap();
                    let mut grant = Grant::pending(
                        RequestId::generate(now()),
                        user,
                        tool,
                        30,
                        now() - Days::days(30),
                    );
                    grant.state = GrantState::Active;
                    grant.starts_at = Some(now() - Days::days(30));
                    grant.expires_at = Some(expires_at);
                    w.insert_grant(&grant)?;
                }
                Ok::<_, clearance::store::StoreError>(())
            })
            .unwrap();
    }
    // Make the set-up durable here, so that the timed sweep does not pay for writing it out
    // and starts with an empty journal.
    store.sync().unwrap();
}

fn service(dir: &std::path::Path, grants: usize) -> (Store, Service) {
    let store = Store::open(dir).unwrap();
    // The rest of the store expires well after the recertification window.
    add_grants(&store, grants - DUE, 0, now() + Days::days(300));
    let service = common::start(store.clone(), now());
    (store, service)
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    // `cargo bench --bench sweep -- 10k` builds and measures only the matching store.
    let filter = std::env::args().skip(1).find(|a| {
        a.chars().any(char::is_alphabetic)
            && SIZES.iter().any(|(label, _)| label.contains(a.as_str()))
    });
    let mut summary = Vec::new();
    for (label, grants) in SIZES
        .into_iter()
        .filter(|(l, _)| filter.as_ref().is_none_or(|f| l.contains(f.as_str())))
    {
        let dir = tempfile::tempdir().unwrap();
        let seeding = Instant::now();
        let (store, service) = service(dir.path(), grants);
        eprintln!("{label}: seeded in {:?}", seeding.elapsed());
        let mut round = 0usize;
        let mut times = Vec::new();
        criterion.bench_function(&format!("expiry_sweep_1k_due/{label}"), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    add_grants(&store, DUE, grants + round * DUE, now() - Days::minutes(1));
                },
                |()| {
                    let started = Instant::now();
                    let report = service.run_sweeps().unwrap();
                    times.push(started.elapsed());
                    assert_eq!(report.grants_expired, DUE);
                },
                BatchSize::PerIteration,
            )
        });
        times.sort();
        summary.push((
            label,
            times[times.len() / 2],
            times[times.len() - 1],
            times.len(),
        ));
    }
    for (label, median, max, n) in summary {
        println!("sweep {label}: median {median:?}  max {max:?}  (n = {n})");
    }
    criterion.final_summary();
}
