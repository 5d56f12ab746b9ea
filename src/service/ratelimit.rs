//! A sliding-window limit on calls per actor, on the injected clock.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// At most `max` calls per `window` by one key.
#[derive(Debug)]
pub(super) struct RateLimit {
    max: usize,
    window: Duration,
    calls: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl RateLimit {
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a call by `key` at `now`, or returns the whole seconds until one is allowed.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        // A poisoned lock only means another call panicked mid-update; the counts stay usable.
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let recent = calls.entry(key.to_owned()).or_default();
        while recent.front().is_some_and(|t| *t + self.window <= now) {
            recent.pop_front();
        }
        if recent.len() >= self.max {
            let oldest = recent.front().copied().unwrap_or(now);
            let wait = (oldest + self.window - now).num_milliseconds().max(0);
            return Err(u64::try_from(wait).unwrap_or(0).div_ceil(1000).max(1));
        }
        recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_call_over_the_limit_until_the_window_moves() {
        let limit = RateLimit::new(2, Duration::seconds(60));
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(limit.check("a", t0), Ok(()));
        assert_eq!(limit.check("a", t0 + Duration::seconds(10)), Ok(()));
        assert_eq!(limit.check("a", t0 + Duration::seconds(20)), Err(40));
        assert_eq!(limit.check("b", t0 + Duration::seconds(20)), Ok(()));
        assert_eq!(limit.check("a", t0 + Duration::seconds(60)), Ok(()));
    }
}
