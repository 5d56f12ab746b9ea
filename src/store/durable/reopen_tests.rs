//! A storage failure fails the store wherever it arises, and the store reopens itself once
//! there is space again, with every change acknowledged before and none refused.
#![allow(clippy::unwrap_used)]

use crate::store::{AuditQueries, NewAuditEntry, StorageFaults, Store, StoreError, StoreOptions};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;

fn entry(subject: &str, bytes: usize) -> NewAuditEntry {
    NewAuditEntry {
        kind: "user.upserted",
        actor: "test".into(),
        subject: subject.into(),
        data: serde_json::json!({ "padding": "x".repeat(bytes) }),
    }
}

fn audit(store: &Store, subject: &str, bytes: usize) -> Result<u64, StoreError> {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    store.write(|w| w.audit(entry(subject, bytes), at))
}

fn subjects(store: &Store) -> Vec<String> {
    let (entries, _) = store
        .read()
        .unwrap()
        .audit_events(0, None, 100, 100)
        .unwrap();
    entries.into_iter().map(|e| e.subject).collect()
}

#[test]
fn a_full_disk_while_a_change_is_applied_fails_the_store_until_it_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(StorageFaults::default());
    let options = StoreOptions {
        faults: Some(Arc::clone(&faults)),
        recover_every: Duration::ZERO,
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    audit(&store, "before", 16).unwrap();

    faults.fill_disk();
    // Larger than the file's free space: the file grows while the change is applied, before
    // any commit, and redb refuses every later write until it is opened anew.
    let refused = audit(&store, "refused", 32 * 1024 * 1024).unwrap_err();
    assert!(refused.is_storage_failure(), "{refused}");
    assert!(!store.writable(), "the store failed with the change");
    assert!(!store.recover_if_failed(), "the disk is still full");

    faults.free_disk();
    assert!(store.recover_if_failed(), "space is back");
    audit(&store, "after", 16).unwrap();
    assert_eq!(subjects(&store), ["before", "after"]);
}
