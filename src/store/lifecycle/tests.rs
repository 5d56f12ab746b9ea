//! Pending requests by age, read from the pending entries of `requests_by_status`; grants
//! counted for a tool's limit until their expiry.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::LifecycleQueries;
use crate::domain::{Email, Grant, GrantState, RequestId, RequestStatus, ToolId};
use crate::store::tables::REQUESTS_BY_STATUS;
use crate::store::{Queries, Store, StoreError};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// Requests submitted a minute apart, every other one still pending; the pending ids.
fn requests(store: &Store, n: i64) -> Vec<(i64, String)> {
    let mut pending = Vec::new();
    store
        .write(|w| {
            let mut by_status = w.table(REQUESTS_BY_STATUS)?;
            for i in 0..n {
                let at = t0() + Duration::minutes(i);
                let id = RequestId::generate(at).to_string();
                let status = if i % 2 == 0 {
                    pending.push((at.timestamp_millis(), id.clone()));
                    RequestStatus::Pending
                } else {
                    RequestStatus::Approved
                };
                by_status.insert((status.as_str(), id.as_str()), ())?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    pending
}

#[test]
fn pending_requests_come_oldest_first_up_to_the_time_given_and_page_by_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let pending = requests(&store, 9);
    let read = store.read().unwrap();

    // Submitted at minutes 0, 2, 4, 6, 8; up to minute 6 inclusive.
    let until = t0() + Duration::minutes(6);
    assert_eq!(read.pending_since(None, until, 10).unwrap(), pending[..4]);
    let just_before = until - Duration::milliseconds(1);
    assert_eq!(
        read.pending_since(None, just_before, 10).unwrap(),
        pending[..3]
    );

    let first = read.pending_since(None, until, 3).unwrap();
    assert_eq!(first, pending[..3]);
    let last_id = |page: &[(i64, String)]| page.last().map(|(_, id)| id.clone());
    let rest = read
        .pending_since(last_id(&first).as_deref(), until, 3)
        .unwrap();
    assert_eq!(rest, pending[3..4]);
    assert!(
        read.pending_since(last_id(&rest).as_deref(), until, 3)
            .unwrap()
            .is_empty()
    );
}

/// An active grant of `tool` to `user`, expiring at `expires`.
fn active_grant(user: &str, tool: &str, expires: DateTime<Utc>) -> Grant {
    let mut grant = Grant::pending(
        RequestId::generate(t0()),
        Email::parse("u", user).unwrap(),
        ToolId::parse("t", tool).unwrap(),
        30,
        t0(),
    );
    grant.state = GrantState::Active;
    grant.starts_at = Some(t0());
    grant.expires_at = Some(expires);
    grant
}

#[test]
fn a_grant_stops_counting_for_its_tools_limit_at_its_expiry_and_a_lagging_sweep_errs_high() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // 129 grants of tool a expiring a second apart, then one of tool b: 130 overdue in all
    // once an hour has passed, more than a decision looks at (128, soonest first).
    store
        .write(|w| {
            for i in 0..129 {
                let user = format!("user{i}@example.com");
                w.insert_grant(&active_grant(&user, "tool-a", t0() + Duration::seconds(i)))?;
            }
            w.insert_grant(&active_grant(
                "last@example.com",
                "tool-b",
                t0() + Duration::seconds(200),
            ))
        })
        .unwrap();
    let read = store.read().unwrap();
    let count = |tool: &str, now| {
        let (user, tool) = (
            Email::parse("u", "x@example.com").unwrap(),
            ToolId::parse("t", tool).unwrap(),
        );
        read.contended(&user, &tool, now)
            .unwrap()
            .active_grants_for_tool
    };

    assert_eq!(count("tool-a", t0() - Duration::seconds(1)), 129);
    // Expiring at t0 + 10 s: the eleventh has just stopped counting.
    assert_eq!(count("tool-a", t0() + Duration::seconds(10)), 118);
    assert_eq!(count("tool-a", t0() + Duration::milliseconds(10_999)), 118);
    // A sweep lagging more than 128 expiries behind: what was not looked at still counts.
    let later = t0() + Duration::hours(1);
    assert_eq!(count("tool-a", later), 1);
    assert_eq!(count("tool-b", later), 1);
}
