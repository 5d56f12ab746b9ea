//! Prometheus metrics, rendered by hand in the text exposition format.

use crate::domain::Outcome;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the decision latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
];

/// Counters and gauges of the running service.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; 3],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    policy_seq: AtomicU64,
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::AutoApproved => 0,
        Outcome::NeedsReview => 1,
        Outcome::Denied => 2,
    }
}

const OUTCOMES: [&str; 3] = ["auto_approved", "needs_review", "denied"];

impl Metrics {
    /// Counts one recorded decision and how long it took end to end.
    pub fn decision(&self, outcome: Outcome, took: Duration) {
        if let Some(counter) = self.decisions.get(outcome_index(outcome)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Sets the active policy version's sequence number.
    pub fn policy_seq(&self, seq: u64) {
        self.policy_seq.store(seq, Ordering::Relaxed);
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP clearance_decisions_total Decisions recorded, by outcome."
        );
        let _ = writeln!(out, "# TYPE clearance_decisions_total counter");
        for (name, counter) in OUTCOMES.iter().zip(&self.decisions) {
            let _ = writeln!(
                out,
                "clearance_decisions_total{{outcome=\"{name}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clearance_decision_duration_seconds Time to decide and durably record a request."
        );
        let _ = writeln!(out, "# TYPE clearance_decision_duration_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "clearance_decision_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(bucket)
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "clearance_decision_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = load(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "clearance_decision_duration_seconds_sum {sum}");
        let _ = writeln!(out, "clearance_decision_duration_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP clearance_policy_version_seq Sequence number of the active policy version."
        );
        let _ = writeln!(out, "# TYPE clearance_policy_version_seq gauge");
        let _ = writeln!(
            out,
            "clearance_policy_version_seq {}",
            load(&self.policy_seq)
        );
        out
    }
}
