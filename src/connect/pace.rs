//! A connector's link to its vendor: at most a few calls in flight (Okta counts concurrent
//! calls per org), calls spread evenly over what is left of the announced rate-limit window,
//! the cached access token, and call statistics for the metrics.
//!
//! Pacing: after every answer that carries `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset`,
//! the next call may start no earlier than `(time to reset) / (calls remaining)` after the
//! previous one. A burst would use the window up in seconds and then wait for its reset,
//! answering 429s to anything else in between; evenly spaced calls use the whole limit and
//! leave headroom for the rest of the organisation's automation.

use super::call::{header, reset_in};
use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Calls in flight per connector.
pub const MAX_IN_FLIGHT: usize = 4;

/// Counters of one connector's calls.
#[derive(Debug, Default, Clone)]
pub struct CallStats {
    /// Answers by status class: `2xx`, `4xx`, `429`, `5xx`.
    pub by_status: std::collections::BTreeMap<&'static str, u64>,
    /// Calls that got no answer (timeouts, connection errors).
    pub transport_errors: u64,
    /// Sum of answer latencies.
    pub latency_sum: Duration,
    /// Answers timed.
    pub latency_count: u64,
    /// Time spent waiting for a turn under the announced rate limit.
    pub paced: Duration,
}

#[derive(Debug, Default)]
struct Pace {
    /// When the next call may start.
    next_at: Option<Instant>,
    /// The spacing the last answer asked for.
    spacing: Duration,
}

/// One connector's link state; lives as long as the connector's configuration is unchanged.
#[derive(Debug)]
pub struct Link {
    permits: Semaphore,
    pace: Mutex<Pace>,
    stats: Mutex<CallStats>,
    /// The cached access token (Entra) and until when to use it.
    pub token: tokio::sync::Mutex<Option<(secrecy::SecretString, Instant)>>,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(MAX_IN_FLIGHT),
            pace: Mutex::default(),
            stats: Mutex::default(),
            token: tokio::sync::Mutex::default(),
        }
    }
}

impl Link {
    /// Waits for a free slot among the calls in flight.
    pub async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// Waits until this call's turn under the announced rate limit, and books the next turn.
    pub async fn wait_turn(&self) {
        let wait = {
            let Ok(mut pace) = self.pace.lock() else {
                return;
            };
            let now = Instant::now();
            let start = pace.next_at.filter(|at| *at > now).unwrap_or(now);
            pace.next_at = Some(start + pace.spacing);
            start - now
        };
        if !wait.is_zero() {
            if let Ok(mut stats) = self.stats.lock() {
                stats.paced += wait;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads the rate-limit headers of an answer.
    pub fn observe(&self, headers: &HeaderMap) {
        let remaining =
            header(headers, "x-rate-limit-remaining").and_then(|r| r.parse::<u32>().ok());
        let (Some(remaining), Some(reset)) = (remaining, reset_in(headers)) else {
            return;
        };
        let Ok(mut pace) = self.pace.lock() else {
            return;
        };
        pace.spacing = match remaining {
            0 => reset,
            n => reset / n,
        };
        if remaining == 0 {
            let until = Instant::now() + reset;
            pace.next_at = Some(pace.next_at.map_or(until, |at| at.max(until)));
        }
    }

    /// Counts an answer and its latency.
    pub fn record_latency(&self, took: Duration, status: u16) {
        if let Ok(mut stats) = self.stats.lock() {
            let class = match status {
                200..=299 => "2xx",
                429 => "429",
                400..=499 => "4xx",
                _ => "5xx",
            };
            *stats.by_status.entry(class).or_default() += 1;
            stats.latency_sum += took;
            stats.latency_count += 1;
        }
    }

    /// Counts a call that got no answer.
    pub fn record_transport_error(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.transport_errors += 1;
        }
    }

    /// A copy of the counters.
    pub fn stats(&self) -> CallStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
