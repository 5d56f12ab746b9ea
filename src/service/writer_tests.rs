//! Group commit: isolation of a failing change, duplicates within one batch, and what callers
//! get once the journal failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::super::{Actor, Service, ServiceConfig, ServiceError};
use crate::clock::ManualClock;
use crate::domain::{Outcome, Role, SubmitRequest, Tool, ToolId, UserUpsert};
use crate::metrics::Metrics;
use crate::store::WriteView;
use crate::store::fixtures::{email, user};
use crate::store::{Queries, Store};
use chrono::{TimeZone, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, sync_channel};
use tokio::sync::oneshot;

fn admin() -> Actor {
    Actor {
        token_id: "test".into(),
        role: Role::Admin,
        subject: None,
    }
}

fn service(dir: &std::path::Path) -> Service {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = ServiceConfig {
        policies_dir: root.join("policies"),
        schema_path: root.join("schemas/clearance.cedarschema"),
        admin_token: None,
        lifecycle: Default::default(),
        connected: Default::default(),
    };
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let store = Store::open(dir).unwrap();
    Service::start(store, config, clock, Arc::new(Metrics::default())).unwrap()
}

/// A service with the built-in catalog and `users` as employees.
fn with_employees(dir: &std::path::Path, users: &[&str]) -> Service {
    let service = service(dir);
    service.seed_tools(&admin()).unwrap();
    for user in users {
        let upsert: UserUpsert = serde_json::from_value(
            serde_json::json!({"groups": ["employees"], "manager": "carol@example.com"}),
        )
        .unwrap();
        service.put_user(&admin(), user, upsert).unwrap();
    }
    service
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn request(key: &str, user: &str, tool: &str) -> SubmitRequest {
    serde_json::from_value(serde_json::json!({"issue_key": key, "requester": user,
        "tool": tool, "purpose": "Draft customer emails", "duration_days": 14}))
    .unwrap()
}

/// Runs `submits` and `extra` (each on its own thread; `extra` queues `extra_changes`) as
/// one batch: the writer is held until all of them are queued.
fn one_batch<T: Send>(
    service: &Service,
    submits: Vec<SubmitRequest>,
    extra_changes: u64,
    extra: impl FnOnce() -> T + Send,
) -> (Vec<Result<crate::service::Submitted, ServiceError>>, T) {
    let release = service.writer.hold();
    let before = service.writer.queued();
    let wanted = before + submits.len() as u64 + extra_changes;
    std::thread::scope(|scope| {
        let threads: Vec<_> = submits
            .into_iter()
            .map(|body| scope.spawn(|| block_on(service.submit(&admin(), body))))
            .collect();
        let extra = scope.spawn(extra);
        while service.writer.queued() < wanted {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        let results = threads.into_iter().map(|t| t.join().unwrap()).collect();
        (results, extra.join().unwrap())
    })
}

#[test]
fn a_failing_change_fails_alone_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let service = with_employees(dir.path(), &["alice@example.com", "bob@example.com"]);
    let entries_before = service.verify_audit(&admin()).unwrap().entries;

    let writer = &service.writer;
    let (results, failed) = one_batch(
        &service,
        vec![
            request("AIR-1", "alice@example.com", "grammarly"),
            request("AIR-2", "bob@example.com", "tabnine"),
        ],
        1,
        || {
            // Writes, then fails: its write must not survive, its batch-mates must.
            writer.write(|w| {
                let mut tool: Tool = w.tool(&ToolId::parse("t", "grammarly").unwrap())?.unwrap();
                tool.id = ToolId::parse("t", "leaked-tool").unwrap();
                w.put_tool(&tool)?;
                Err::<(), _>(ServiceError::InvalidTransition("refused".into()))
            })
        },
    );
    assert!(matches!(failed, Err(ServiceError::InvalidTransition(_))));
    for result in &results {
        let submitted = result.as_ref().unwrap();
        assert!(submitted.created);
    }
    let read = service.store.read().unwrap();
    assert!(
        read.tool(&ToolId::parse("t", "leaked-tool").unwrap())
            .unwrap()
            .is_none()
    );
    let report = service.verify_audit(&admin()).unwrap();
    assert!(report.ok);
    assert_eq!(
        report.entries,
        entries_before + 2 + 2,
        "two decisions, one auto-approved grant each"
    );
}

#[test]
fn two_requests_for_one_tool_in_one_batch_let_exactly_one_into_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let service = with_employees(dir.path(), &["alice@example.com"]);

    let (results, ()) = one_batch(
        &service,
        vec![
            request("AIR-1", "alice@example.com", "tabnine"),
            request("AIR-2", "alice@example.com", "tabnine"),
            // A retry of the first, in the same batch: the stored answer, not a new request.
            request("AIR-1", "alice@example.com", "tabnine"),
        ],
        0,
        || (),
    );
    let submitted: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    // Whichever was queued first enters the workflow; the other is a duplicate.
    let entered: std::collections::BTreeSet<String> = submitted
        .iter()
        .filter(|s| s.request.decision.decision.outcome != Outcome::Denied)
        .map(|s| s.request.issue_key.to_string())
        .collect();
    assert_eq!(entered.len(), 1, "{entered:?}");
    assert_eq!(submitted.iter().filter(|s| s.created).count(), 2);
    // The retry got the stored answer of AIR-1, whichever of its two calls recorded it.
    assert_eq!(submitted[0].request.id, submitted[2].request.id);
    let read = service.store.read().unwrap();
    let open = read
        .requests(&crate::store::RequestFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.items.len(), 2);
    assert!(service.verify_audit(&admin()).unwrap().ok);
}

#[test]
fn every_change_goes_through_the_writer_and_is_seen_once_answered() {
    let dir = tempfile::tempdir().unwrap();
    let service = with_employees(dir.path(), &["alice@example.com"]);
    let before = service.writer.queued();

    let lone =
        block_on(service.submit(&admin(), request("AIR-1", "alice@example.com", "grammarly")))
            .unwrap();
    assert!(lone.created);
    assert_eq!(
        service.writer.queued(),
        before + 1,
        "one write path: the queue"
    );
    let key = crate::domain::IssueKey::parse("k", "AIR-1").unwrap();
    let read = service.store.read().unwrap();
    assert!(read.request_by_issue(&key).unwrap().is_some());
    assert!(service.verify_audit(&admin()).unwrap().ok);
}

#[test]
fn a_change_the_journal_fails_is_refused_as_unavailable_and_the_writer_reopens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let service = with_employees(dir.path(), &["alice@example.com", "bob@example.com"]);
    assert!(service.ready());

    service.store.break_journal();
    let submit = |key, user| block_on(service.submit(&admin(), request(key, user, "grammarly")));
    // The failure is unavailable (the cause logged once), and nothing of it is recorded.
    let refused = submit("AIR-1", "alice@example.com");
    assert!(
        matches!(refused, Err(ServiceError::Unavailable)),
        "{refused:?}"
    );
    let key = crate::domain::IssueKey::parse("k", "AIR-1").unwrap();
    assert!(
        service
            .store
            .read()
            .unwrap()
            .request_by_issue(&key)
            .unwrap()
            .is_none(),
        "a refused change was recorded"
    );
    // After the failed batch the writer reopened the journal from its file, as a restart
    // would: the broken handle is gone and changes are taken again.
    assert!(submit("AIR-2", "bob@example.com").unwrap().created);
    assert!(service.ready());
    assert!(service.verify_audit(&admin()).unwrap().ok);
}

#[test]
fn a_full_queue_refuses_a_change_at_once_as_busy_and_what_queued_still_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let writer = super::Writer::start(store.clone()).unwrap();

    let release = writer.hold();
    let answers: Vec<_> = (0..super::QUEUE)
        .map(|n| {
            let user = user(n);
            let (change, answer) = super::change(move |w| Ok(w.put_user(&user)?));
            writer.enqueue(change).unwrap();
            answer
        })
        .collect();
    let refused = block_on(writer.write_async(move |w| Ok(w.put_user(&user(super::QUEUE))?)));
    assert!(matches!(refused, Err(ServiceError::Busy)), "{refused:?}");

    drop(release);
    for answer in answers {
        block_on(answer).unwrap().unwrap();
    }
    let read = store.read().unwrap();
    assert!(read.user(&email(super::QUEUE - 1)).unwrap().is_some());
    assert!(
        read.user(&email(super::QUEUE)).unwrap().is_none(),
        "refused, not queued"
    );
}

/// Test-only ways into the writer: queue and wait on this thread, count, hold.
impl super::Writer {
    /// Queues `apply` and waits (blocking the thread) until its batch committed (its result)
    /// or it failed. `apply` must be repeatable: it runs again in a new transaction when a
    /// batch-mate fails.
    pub(super) fn write<T, F>(&self, apply: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnMut(&mut WriteView<'_>) -> Result<T, ServiceError> + Send + 'static,
    {
        let (change, answer) = super::change(apply);
        self.enqueue(change)?;
        answer
            .blocking_recv()
            .unwrap_or(Err(ServiceError::Unavailable))
    }

    /// How many changes were queued so far.
    pub(super) fn queued(&self) -> u64 {
        self.queued.load(Ordering::Acquire)
    }

    /// Holds the writer (it waits inside a change of its own, in a batch of its own) until
    /// the returned sender sends or is dropped, so that a test can queue a batch.
    pub(super) fn hold(&self) -> SyncSender<()> {
        let (release, held) = sync_channel::<()>(1);
        let (started, waiting) = sync_channel::<()>(1);
        let mut holding = true;
        let (reply, _answer) = oneshot::channel();
        let change: Box<dyn super::Pending> = Box::new(super::Change {
            apply: move |_: &mut WriteView<'_>| {
                // Only the first time: the change is applied again if a batch-mate fails.
                if std::mem::take(&mut holding) {
                    let _ = started.send(());
                    let _ = held.recv();
                }
                Ok::<_, ServiceError>(())
            },
            result: None,
            reply,
        });
        if let Some(queue) = &self.queue
            && queue.send(change).is_ok()
        {
            self.queued.fetch_add(1, Ordering::Release);
            // The writer is inside the hold once it says so; what is queued now waits.
            let _ = waiting.recv();
        }
        release
    }
}
