//! Prometheus metrics, rendered by hand in the text exposition format.

use crate::connect::CallStats;
use crate::domain::Job;
use crate::domain::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
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
    /// Connector jobs settled, by connector, kind and outcome.
    connector_jobs: Mutex<BTreeMap<(String, &'static str, &'static str), u64>>,
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

    /// Counts a connector job's attempt by how it settled (`done`, `retrying`, `failed`, …).
    pub fn connector_job(&self, job: &Job, outcome: &'static str) {
        let connector = job
            .connector
            .managed_by()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut jobs = self
            .connector_jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *jobs
            .entry((connector, job.kind.as_str(), outcome))
            .or_default() += 1;
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
        self.render_connector_jobs(&mut out);
        out
    }

    fn render_connector_jobs(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP clearance_connector_jobs_total Connector job attempts, by how they settled."
        );
        let _ = writeln!(out, "# TYPE clearance_connector_jobs_total counter");
        let jobs = self
            .connector_jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for ((connector, kind, outcome), n) in jobs.iter() {
            let _ = writeln!(
                out,
                "clearance_connector_jobs_total{{connector=\"{connector}\",kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
    }
}

/// Each connector's calls, answers by status class, latency and time paced, in Prometheus
/// text format.
pub fn render_connector_calls(stats: &[(String, CallStats)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP clearance_connector_calls_total Calls to identity providers, by status class (`error`: no answer)."
    );
    let _ = writeln!(out, "# TYPE clearance_connector_calls_total counter");
    for (connector, s) in stats {
        for (class, n) in &s.by_status {
            let _ = writeln!(
                out,
                "clearance_connector_calls_total{{connector=\"{connector}\",status=\"{class}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "clearance_connector_calls_total{{connector=\"{connector}\",status=\"error\"}} {}",
            s.transport_errors
        );
    }
    let _ = writeln!(
        out,
        "# HELP clearance_connector_call_duration_seconds Time identity providers took to answer."
    );
    let _ = writeln!(
        out,
        "# TYPE clearance_connector_call_duration_seconds summary"
    );
    for (connector, s) in stats {
        let sum = s.latency_sum.as_secs_f64();
        let _ = writeln!(
            out,
            "clearance_connector_call_duration_seconds_sum{{connector=\"{connector}\"}} {sum}"
        );
        let _ = writeln!(
            out,
            "clearance_connector_call_duration_seconds_count{{connector=\"{connector}\"}} {}",
            s.latency_count
        );
    }
    let _ = writeln!(
        out,
        "# HELP clearance_connector_paced_seconds_total Time calls waited for their turn under the announced rate limit."
    );
    let _ = writeln!(
        out,
        "# TYPE clearance_connector_paced_seconds_total counter"
    );
    for (connector, s) in stats {
        let _ = writeln!(
            out,
            "clearance_connector_paced_seconds_total{{connector=\"{connector}\"}} {}",
            s.paced.as_secs_f64()
        );
    }
    out
}
