//! Offline verification speed: `clearance audit verify` work (parse each JSONL line, recompute
//! the canonical hash, check the HMAC, `seq` and link, and the checkpoints) over an export of
//! 200,000 `request.decided` entries with a checkpoint every 1,000, on one thread.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use chrono::{DateTime, Duration as Days, Utc};
use clearance::evidence::{
    AuditRecord, ExportHeader, ExportLine, GENESIS, MacKey, Signer, Verifier,
};
use criterion::{Criterion, Throughput};
use serde_json::json;
use std::time::{Duration, Instant};

const ENTRIES: u64 = 200_000;
const CHECKPOINT_EVERY: u64 = 1_000;

fn export(key: &MacKey, signer: &Signer) -> Vec<String> {
    let start = DateTime::from_timestamp(1_767_600_000, 0).unwrap();
    let mut body = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut last = None;
    for seq in 1..=ENTRIES {
        let at: DateTime<Utc> = start + Days::milliseconds(seq as i64 * 37);
        let record = AuditRecord::seal(
            seq,
            at,
            "request.decided".into(),
            "tok_0123456789abcdef".into(),
            format!("req_019a{seq:028x}"),
            json!({
                "issue_key": format!("AIR-{seq}"),
                "requester": format!("user{}@example.com", seq % 1000),
                "tool": format!("tool-{}", seq % 100),
                "duration_days": 30,
                "outcome": "needs_review",
                "determining_policies": ["review-manager", "review-security"],
                "required_reviews": ["manager", "security"],
                "policy_version": "a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcd",
                "policy_seq": 3,
            }),
            prev,
            key,
        );
        prev = record.entry_hash.clone();
        let checkpoint = (seq % CHECKPOINT_EVERY == 0).then(|| signer.sign(seq, &prev, at));
        body.push(serde_json::to_string(&ExportLine::Entry(Box::new(record))).unwrap());
        if let Some(checkpoint) = checkpoint {
            last = Some(checkpoint.clone());
            body.push(serde_json::to_string(&ExportLine::Checkpoint { checkpoint }).unwrap());
        }
    }
    let header = ExportLine::Header {
        export: ExportHeader {
            from: start,
            to: start + Days::days(1),
            start: None,
            end: last,
        },
    };
    let mut lines = vec![serde_json::to_string(&header).unwrap()];
    lines.extend(body);
    lines
}

fn verify(lines: &[String], key: &MacKey, signer: &Signer) -> u64 {
    let mut verifier = Verifier::export(Some(key.clone()), Some(signer.public_key().clone()));
    for line in lines {
        verifier.push_line(line);
    }
    let report = verifier.finish();
    assert!(report.ok, "{report:?}");
    report.entries
}

fn main() {
    let key = MacKey::from_bytes([5; 32]);
    let signer = Signer::from_bytes([6; 32]);
    let lines = export(&key, &signer);
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .configure_from_args();
    let mut group = criterion.benchmark_group("offline_verify");
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("200k_entries", |b| b.iter(|| verify(&lines, &key, &signer)));
    group.finish();
    let started = Instant::now();
    let entries = verify(&lines, &key, &signer);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "offline verify: {entries} entries in {:.3} s = {:.0} entries/s (one thread)",
        secs,
        entries as f64 / secs
    );
    criterion.final_summary();
}
