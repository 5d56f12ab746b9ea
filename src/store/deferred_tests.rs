//! A change answered from the journal: read by nobody until applied, applied from the journal
//! after a crash, its own writes read back, and what happens when it cannot be applied.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::store::fixtures::{email, user, visible};
use crate::store::tables::{Spec, TOOLS, USERS};
use crate::store::{Queries, Store, StoreError};
use redb::ReadableDatabase;

/// Whether the database itself holds user `n`, whatever readers are made to wait for.
fn in_database(store: &Store, n: usize) -> bool {
    let read = store.snapshots.database().1.begin_read().unwrap();
    let users = read.open_table(USERS::DEF).unwrap();
    users.get(email(n).as_str()).unwrap().is_some()
}

#[test]
fn a_change_answered_from_the_journal_is_read_only_once_applied() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write(|w| w.put_user(&user(1))).unwrap();

    let ((), applying) = store.write_deferred(|w| w.put_user(&user(2))).unwrap();
    assert!(applying.pending());
    assert!(!in_database(&store, 2), "answered before it is applied");
    assert_eq!(store.snapshots.unapplied_count(), 1);
    let reader = std::thread::spawn({
        let store = store.clone();
        move || visible(&store, 2)
    });
    applying.finish().unwrap();

    assert!(reader.join().unwrap(), "a reader waits for the apply");
    assert_eq!(store.snapshots.unapplied_count(), 0);
    assert!(in_database(&store, 2) && visible(&store, 1));
}

#[test]
fn a_change_answered_but_never_applied_is_applied_when_the_folder_is_next_opened() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ((), applying) = store.write_deferred(|w| w.put_user(&user(2))).unwrap();
    applying.abandon();
    assert!(!in_database(&store, 2));
    drop(store);

    let reopened = Store::open(dir.path()).unwrap();
    assert!(visible(&reopened, 2));
}

#[test]
fn writes_wait_until_their_table_is_read_and_then_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ((seen, deferred), applying) = store
        .write_deferred(|w| {
            w.put_user(&user(3))?;
            let mut deferred = vec![w.deferred_tables()];
            let seen = w.user(&email(3))?.is_some();
            deferred.push(w.deferred_tables());
            w.put_user(&user(4))?;
            deferred.push(w.deferred_tables());
            Ok::<_, StoreError>((seen, deferred))
        })
        .unwrap();
    applying.finish().unwrap();

    assert!(seen, "a change reads its own writes");
    assert_eq!(deferred, [vec!["users"], vec![], vec!["users"]]);
    assert!(visible(&store, 3) && visible(&store, 4));
}

#[test]
fn a_change_the_journal_cannot_express_is_committed_durably_before_it_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ((), applying) = store
        .write_deferred(|w| {
            w.put_user(&user(5))?;
            w.table(TOOLS)?.remove_range::<&str>(..)
        })
        .unwrap();

    assert_eq!(store.snapshots.unapplied_count(), 0);
    assert!(!applying.pending());
    assert!(in_database(&store, 5), "applied before the answer");
    assert!(!store.log.lock().unwrap().dirty, "and durable");
    drop(applying);
    assert!(visible(&store, 5));

    // What a crash now would leave: the files as they are, the store never closed.
    let image = tempfile::tempdir().unwrap();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), image.path().join(file.file_name())).unwrap();
    }
    assert!(visible(&Store::open(image.path()).unwrap(), 5), "durable");
}

/// A store over `dir` holding user 1, and answered user 2 in a change that will fail to
/// apply.
fn a_change_that_cannot_be_applied(dir: &std::path::Path) -> (Store, super::Applying) {
    let store = Store::open(dir).unwrap();
    store.write(|w| w.put_user(&user(1))).unwrap();
    let ((), applying) = store
        .write_deferred(|w| {
            w.put_user(&user(2))?;
            w.record_unknown_write();
            Ok::<_, StoreError>(())
        })
        .unwrap();
    (store, applying)
}

#[test]
fn a_change_that_cannot_be_applied_stops_reads_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, applying) = a_change_that_cannot_be_applied(dir.path());

    assert!(applying.finish().is_err());
    assert!(matches!(store.read(), Err(StoreError::Unapplied)));
    assert!(!store.writable());
    assert!(matches!(
        store.write(|w| w.put_user(&user(3))),
        Err(StoreError::JournalFailed)
    ));
}

#[test]
fn a_change_waiting_behind_one_that_cannot_be_applied_is_refused_and_nothing_syncs_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, applying) = a_change_that_cannot_be_applied(dir.path());
    // The next writer queues for redb's write lock, which the unapplied change holds.
    let started = std::sync::Arc::new(std::sync::Barrier::new(2));
    let waiting = {
        let (store, started) = (store.clone(), started.clone());
        std::thread::spawn(move || {
            started.wait();
            store.write(|w| w.put_user(&user(3)))
        })
    };
    started.wait();
    assert!(applying.finish().is_err());
    assert!(
        matches!(waiting.join().unwrap(), Err(StoreError::JournalFailed)),
        "a change after the failed one is never acknowledged"
    );
    assert!(
        matches!(store.sync(), Err(StoreError::JournalFailed)),
        "the database is not made durable (and the journal reset) without the failed change"
    );
    assert!(matches!(store.read(), Err(StoreError::Unapplied)));
}
