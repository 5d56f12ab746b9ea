//! Windows of time asked for by auditors: `from`/`to` with a default length and a maximum.

use super::ServiceError;
use crate::domain::DomainError;
use chrono::{DateTime, Duration, Utc};

/// How long a window is when `from` is not given, and the longest allowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowLimits {
    /// Days before `to` when `from` is not given.
    pub default_days: i64,
    /// The longest window in days.
    pub max_days: i64,
}

/// A window `[from, to]` with `from <= to`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// `to` defaults to `now`, `from` to `default_days` before `to`; refuses `from > to`
    /// and windows longer than `max_days`.
    pub fn parse(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        limits: WindowLimits,
    ) -> Result<Self, ServiceError> {
        let to = to.unwrap_or(now);
        // Near the first instant there is, the default window starts there.
        let default_from = to
            .checked_sub_signed(Duration::days(limits.default_days))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let window = Self::ordered(from.unwrap_or(default_from), to)?;
        if to - window.from > Duration::days(limits.max_days) {
            return Err(ServiceError::WindowTooLarge(limits.max_days));
        }
        Ok(window)
    }

    /// `[from, to]`, refusing `from > to`.
    pub fn ordered(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, ServiceError> {
        if from > to {
            return Err(DomainError::new("from", "must not be after `to`").into());
        }
        Ok(Self { from, to })
    }
}
