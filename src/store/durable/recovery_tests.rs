//! Recovery from the journal: a copy of a live data folder is what a crash leaves behind (the
//! database file as of its last sync, the journal as synced), and opening the copy must give
//! exactly the database the live store holds, table by table and byte by byte.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::domain::{Grant, GrantState, RequestId, ToolId};
use crate::store::fixtures::{email, user};
use crate::store::tables::dump_all;
use crate::store::{JournalError, NewAuditEntry, Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn entry(n: usize) -> NewAuditEntry {
    NewAuditEntry {
        kind: "user.upserted",
        actor: "test".into(),
        subject: format!("user{n}@example.com"),
        data: serde_json::json!({ "n": n }),
    }
}

/// Writes users with audit entries, and a grant that is then activated (which removes
/// index entries as well as inserting them).
fn write_some(store: &Store, from: usize) {
    store
        .write(|w| {
            for n in from..from + 5 {
                w.put_user(&user(n))?;
                w.audit(entry(n), at())?;
            }
            let mut grant = Grant::pending(
                RequestId::generate(at()),
                email(from),
                ToolId::parse("t", "chatgpt").unwrap(),
                14,
                at(),
            );
            w.insert_grant(&grant)?;
            let old = grant.clone();
            grant.state = GrantState::Active;
            grant.expires_at = Some(at() + chrono::Duration::days(14));
            w.update_grant(&old, &grant)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// What a crash at this moment would leave: every file of the data folder, as on disk.
fn crash_copy(from: &Path, to: &Path) {
    for name in [
        Store::FILE,
        Store::JOURNAL_FILE,
        Store::SECOND_JOURNAL_FILE,
        crate::evidence::KEY_FILE,
        crate::evidence::SIGNING_KEY_FILE,
    ] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

type Dump = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

fn dump(store: &Store) -> Dump {
    dump_all(&store.durable.newest().unwrap()).unwrap()
}

/// Equal dumps, or the first entry where they part (whole dumps are too long to print).
fn assert_same(got: &Dump, want: &Dump) {
    let parted = got.iter().zip(want).position(|(g, w)| g != w);
    assert!(
        parted.is_none() && got.len() == want.len(),
        "{} entries, expected {}; first difference at {parted:?} (table {:?})",
        got.len(),
        want.len(),
        parted.map(|i| want[i].0)
    );
}

#[test]
fn a_crash_copy_opens_to_exactly_the_live_database() {
    let (live_dir, crashed_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let live = Store::open(live_dir.path()).unwrap();
    write_some(&live, 0);
    live.sync().unwrap();
    // After the sync: these are in the journal only.
    write_some(&live, 100);
    write_some(&live, 200);

    crash_copy(live_dir.path(), crashed_dir.path());
    let recovered = Store::open(crashed_dir.path()).unwrap();
    let expected = dump(&live);
    assert!(
        expected
            .iter()
            .any(|(t, k, _)| *t == "users" && k == b"user204@example.com")
    );
    assert_same(&dump(&recovered), &expected);

    // The recovered store journals on where it left off: a crash of it recovers too.
    write_some(&recovered, 300);
    let again = tempfile::tempdir().unwrap();
    crash_copy(crashed_dir.path(), again.path());
    assert_same(
        &dump(&Store::open(again.path()).unwrap()),
        &dump(&recovered),
    );
}

/// A crash copy of a store that was synced and then written to: the copy's folder, and
/// the database as it was at the sync.
fn crashed_after_a_sync() -> (tempfile::TempDir, Dump) {
    let (live_dir, crashed_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let live = Store::open(live_dir.path()).unwrap();
    write_some(&live, 0);
    live.sync().unwrap();
    let synced = dump(&live);
    write_some(&live, 100);
    crash_copy(live_dir.path(), crashed_dir.path());
    (crashed_dir, synced)
}

#[test]
fn without_its_journal_a_crash_copy_has_only_what_was_synced() {
    let (crashed_dir, synced) = crashed_after_a_sync();
    // Written since the sync, which switched journals (`journals.rs`).
    std::fs::remove_file(crashed_dir.path().join(Store::SECOND_JOURNAL_FILE)).unwrap();
    let recovered = Store::open(crashed_dir.path()).unwrap();
    // The journal is what made the later writes durable: this shows the test above is not
    // passing on a database file that already had them.
    assert_same(&dump(&recovered), &synced);
}

#[test]
fn an_unusable_journal_stops_the_store_naming_the_file_and_moving_it_aside_opens_the_synced_state()
{
    let (crashed_dir, synced) = crashed_after_a_sync();
    // Its format number changed: this version must not guess at what the records mean.
    let journal = crashed_dir.path().join(Store::SECOND_JOURNAL_FILE);
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[8] = 9;
    std::fs::write(&journal, &bytes).unwrap();
    let Err(error) = Store::open(crashed_dir.path()) else {
        panic!("a journal of another format was used");
    };
    assert!(
        matches!(error, StoreError::UnusableJournal { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [
        journal.display().to_string().as_str(),
        "a format this version does not read",
        "move the journal aside",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert_eq!(std::fs::read(&journal).unwrap(), bytes, "left as it was");

    // What the message offers: the database as of its last sync.
    std::fs::rename(&journal, crashed_dir.path().join("journal.aside")).unwrap();
    assert_same(&dump(&Store::open(crashed_dir.path()).unwrap()), &synced);
}

#[test]
fn a_journal_that_fails_stops_every_change_until_reopened_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    write_some(&store, 0);
    let acknowledged = dump(&store);
    assert!(store.writable());

    store.break_journal();
    let one_user = |n| store.write(|w| w.put_user(&user(n)));
    assert!(matches!(
        one_user(100),
        Err(StoreError::Journal(JournalError::Io(_)))
    ));
    // Not tried again on a journal that may have lost pages: refused before redb is touched.
    assert!(matches!(one_user(101), Err(StoreError::JournalFailed)));
    assert!(!store.writable());
    assert_same(&dump(&store), &acknowledged);

    drop(store);
    let reopened = Store::open(dir.path()).unwrap();
    assert!(reopened.writable());
    assert_same(&dump(&reopened), &acknowledged);
    write_some(&reopened, 200);
}
