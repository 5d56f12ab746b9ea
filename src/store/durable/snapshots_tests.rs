//! Readers see a journaled commit only once its record is durable, and never one whose
//! record failed to sync.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::store::fixtures::{user, visible};
use crate::store::{JournalError, Store, StoreError};
use std::sync::{Arc, Mutex};

#[test]
fn a_commit_is_seen_only_once_its_journal_record_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write(|w| w.put_user(&user(1))).unwrap();

    // What a reader on another thread would get while the record of user 2 is being synced:
    // the database has already committed it by then.
    let (reader, seen) = (store.clone(), Arc::new(Mutex::new(Vec::new())));
    let during = Arc::clone(&seen);
    store.on_journal_sync(move || {
        during
            .lock()
            .unwrap()
            .push((visible(&reader, 1), visible(&reader, 2)));
        Ok(())
    });
    store.write(|w| w.put_user(&user(2))).unwrap();

    assert_eq!(*seen.lock().unwrap(), [(true, false)]);
    assert!(visible(&store, 2), "seen once durable");
}

#[test]
fn a_commit_whose_journal_record_fails_to_sync_is_never_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write(|w| w.put_user(&user(1))).unwrap();

    store.on_journal_sync(|| Err(std::io::Error::other("the disk went away")));
    let refused = store.write(|w| w.put_user(&user(2)));

    assert!(
        matches!(refused, Err(StoreError::Journal(JournalError::Io(_)))),
        "{refused:?}"
    );
    assert!(!store.writable());
    assert!(visible(&store, 1));
    assert!(!visible(&store, 2), "refused, so not shown");
    assert!(matches!(
        store.write(|w| w.put_user(&user(3))),
        Err(StoreError::JournalFailed)
    ));
}
