//! When a job that failed in a way that may pass runs again.

use chrono::Duration;
use sha2::{Digest, Sha256};

/// The first retry's delay, doubled with each attempt.
const BASE_SECS: i64 = 2;
/// The longest delay between attempts.
const CAP_SECS: i64 = 15 * 60;
/// The shortest wait a vendor's `Retry-After` gets.
const MIN_WAIT_MS: i64 = 1_000;

/// The wait before attempt `attempts + 1` of `job_id`. The vendor's `Retry-After` (or rate
/// limit reset) is honoured as given; otherwise exponential backoff with "equal jitter": half
/// the delay fixed, half spread, so retries of many jobs hit by one outage do not return
/// together. The spread comes from the job id and attempt, so a run is reproducible.
pub fn delay(job_id: &str, attempts: u32, retry_after: Option<std::time::Duration>) -> Duration {
    if let Some(after) = retry_after {
        let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        return Duration::milliseconds(ms.clamp(MIN_WAIT_MS, CAP_SECS * 1_000));
    }
    let doubling = attempts.saturating_sub(1).min(20);
    let full_ms = (BASE_SECS << doubling).min(CAP_SECS) * 1_000;
    let digest = Sha256::digest(format!("{job_id}/{attempts}").as_bytes());
    let [a, b, ..] = digest.0;
    let spread = u16::from_be_bytes([a, b]);
    let half = full_ms / 2;
    Duration::milliseconds(half + half * i64::from(spread) / i64::from(u16::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_as_given() {
        let d = delay("job_1", 1, Some(std::time::Duration::from_secs(2)));
        assert_eq!(d, Duration::seconds(2));
        let d = delay("job_1", 1, Some(std::time::Duration::ZERO));
        assert_eq!(d, Duration::seconds(1));
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        for attempts in 1..=12u32 {
            let full = (2i64 << (attempts - 1)).min(CAP_SECS) * 1000;
            let d = delay("job_x", attempts, None).num_milliseconds();
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempts}: {d} ms of {full}"
            );
        }
        assert_eq!(delay("a", 3, None), delay("a", 3, None));
        let spread: std::collections::BTreeSet<_> = (0..20)
            .map(|i| delay(&format!("job_{i}"), 4, None))
            .collect();
        assert!(spread.len() > 10, "jitter spreads jobs: {spread:?}");
    }
}
