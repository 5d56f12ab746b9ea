//! The journal reads back exactly what was appended since the database's last record, and
//! stops at anything else: zeroes, a torn write, older records.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::store::durable::file::{Disk, OsDisk};
use crate::store::durable::journals::Journals;
use std::io::Write;
use std::path::Path;

/// Two steps: the file starts at one and may grow to two.
const MAX: u64 = 2 * STEP;

fn open(path: &Path) -> Result<Journal, JournalError> {
    let (file, created) = OsDisk.journal(path)?;
    Journal::open(file, created, MAX)
}

fn open_with_max(path: &Path, max: u64) -> Journal {
    let (file, created) = OsDisk.journal(path).unwrap();
    Journal::open(file, created, max).unwrap()
}

fn journal(dir: &Path) -> Journal {
    open(&dir.join("j")).unwrap()
}

fn seqs(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

#[test]
fn a_new_journal_is_its_format_then_one_step_of_zeroes_and_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    let bytes = std::fs::read(dir.path().join("j")).unwrap();
    assert_eq!(bytes.len() as u64, START + STEP);
    assert_eq!(&bytes[..12], b"CLRJRNL\0\x01\0\0\0");
    assert!(bytes[12..].iter().all(|&b| b == 0));
    assert!(j.records_after(0).unwrap().is_empty());
}

#[test]
fn a_file_of_another_kind_or_format_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    for (content, why) in [
        (
            b"not a journal at all".repeat(400),
            "not a clearance journal",
        ),
        (
            [b"CLRJRNL\0\x02\0\0\0".as_slice(), &[0; 8000]].concat(),
            "of a format this version does not read",
        ),
        (b"CLRJRNL\0".to_vec(), "cut short"),
    ] {
        std::fs::write(&path, &content).unwrap();
        match open(&path) {
            Err(error) => assert!(error.to_string().contains(why), "{error}"),
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), content, "left as it was");
    }
}

#[test]
fn records_after_the_database_s_last_are_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    for seq in 5..9 {
        j.append(seq, format!("payload {seq}").as_bytes()).unwrap();
    }
    let reopened = journal(dir.path());
    let records = reopened.records_after(6).unwrap();
    assert_eq!(seqs(&records), [7, 8]);
    assert_eq!(records[0].payload, b"payload 7");
    assert!(reopened.records_after(8).unwrap().is_empty());
}

#[test]
fn after_a_reset_new_records_overwrite_and_older_ones_are_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    for seq in 1..=10 {
        j.append(seq, b"an older record, before the sync").unwrap();
    }
    j.reset();
    j.append(11, b"new").unwrap();
    j.append(12, b"new").unwrap();
    // Records 1..=10 stay in the file behind the new ones; they are not read.
    assert_eq!(
        seqs(&journal(dir.path()).records_after(10).unwrap()),
        [11, 12]
    );
    // A crash right after the sync, before any new record: nothing to apply.
    let other = tempfile::tempdir().unwrap();
    let mut k = journal(other.path());
    k.append(1, b"x").unwrap();
    k.reset();
    assert!(k.records_after(1).unwrap().is_empty());
}

#[test]
fn a_torn_last_record_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    j.append(1, b"whole").unwrap();
    j.append(2, b"torn in the middle of its payload").unwrap();
    let path = dir.path().join("j");
    let mut bytes = std::fs::read(&path).unwrap();
    let second = START as usize + HEADER + 5 + HEADER + 10;
    bytes[second] ^= 0xff;
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    assert_eq!(seqs(&journal(dir.path()).records_after(0).unwrap()), [1]);
}

#[test]
fn a_gap_between_the_database_and_the_journal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    j.append(7, b"x").unwrap();
    assert!(matches!(
        j.records_after(5),
        Err(JournalError::RecordsMissing)
    ));
}

#[test]
fn the_file_grows_by_zeroed_steps_up_to_its_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    let whole = usize::try_from(MAX - START).unwrap() - HEADER;
    assert!(j.fits(whole));
    assert!(!j.fits(whole + 1));
    // Past the first step: the file grows by one zeroed step, and the records read back.
    let big = vec![7u8; usize::try_from(STEP).unwrap() / 2];
    for seq in 1..=3 {
        j.append(seq, &big).unwrap();
    }
    let len = std::fs::metadata(dir.path().join("j")).unwrap().len();
    assert_eq!(len, START + 2 * STEP);
    assert_eq!(
        seqs(&journal(dir.path()).records_after(0).unwrap()),
        [1, 2, 3]
    );
    assert!(!j.fits(big.len()), "a fourth would pass the maximum");
    j.retract(big.len()).unwrap();
    assert!(j.fits(big.len()), "the last record was taken back");
}

#[test]
fn a_retracted_record_is_never_read_and_the_next_takes_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    j.append(1, b"committed").unwrap();
    j.append(2, b"its transaction failed to commit").unwrap();
    j.retract(b"its transaction failed to commit".len())
        .unwrap();
    // A crash now: the store opened afterwards does not apply the failed change.
    assert_eq!(seqs(&journal(dir.path()).records_after(0).unwrap()), [1]);
    j.append(2, b"next").unwrap();
    j.append(3, b"after").unwrap();
    let records = journal(dir.path()).records_after(0).unwrap();
    assert_eq!(seqs(&records), [1, 2, 3]);
    assert_eq!(records[1].payload, b"next");
}

fn pair(dir: &Path) -> Journals {
    Journals::new(
        open(&dir.join("j")).unwrap(),
        open(&dir.join("k")).unwrap(),
        true,
    )
}

fn write_all(pair: &mut Journals, seqs: std::ops::Range<u64>) {
    for seq in seqs {
        pair.write(seq, b"r").unwrap();
        pair.sync().unwrap();
    }
}

#[test]
fn a_pair_reads_both_files_in_order_across_switches_and_never_a_file_s_older_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = pair(dir.path());
    write_all(&mut j, 1..5);
    // The database's durable commit after 4, its sync running: records go to the other file.
    j.switch();
    write_all(&mut j, 5..8);
    // Power lost before that sync returned: the database is at its commit before 1.
    assert_eq!(
        seqs(&pair(dir.path()).records_after(0).unwrap()),
        [1, 2, 3, 4, 5, 6, 7]
    );
    // It returned: the database holds 4.
    assert_eq!(seqs(&pair(dir.path()).records_after(4).unwrap()), [5, 6, 7]);
    // The next durable commit, after 7: the first file again, from its start; 1..=4 stay
    // behind the new records and are never read.
    j.switch();
    write_all(&mut j, 8..10);
    assert_eq!(
        seqs(&pair(dir.path()).records_after(4).unwrap()),
        [5, 6, 7, 8, 9]
    );
    assert_eq!(seqs(&pair(dir.path()).records_after(7).unwrap()), [8, 9]);
}

#[test]
fn a_pair_whose_files_do_not_continue_each_other_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = pair(dir.path());
    write_all(&mut j, 1..3);
    j.switch();
    // 3 is missing: what the second file holds does not follow the first.
    write_all(&mut j, 4..6);
    assert!(matches!(
        pair(dir.path()).records_after(0),
        Err(JournalError::RecordsMissing)
    ));
    // Nor may they begin later than the database's next record.
    assert!(matches!(
        pair(dir.path()).records_after(1),
        Err(JournalError::RecordsMissing)
    ));
}

fn size(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name)).unwrap().len()
}

#[test]
fn after_a_switch_the_idle_file_grows_ahead_to_what_its_period_used_and_half_again() {
    let big = vec![7u8; 1 << 20];
    for background in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let max = 8 * STEP;
        let open = |name: &str| open_with_max(&dir.path().join(name), max);
        let mut j = Journals::new(open("j"), open("k"), background);
        // Seven MiB of records: the first file grew inline to two steps.
        for seq in 1..=7 {
            j.write(seq, &big).unwrap();
        }
        j.sync().unwrap();
        assert_eq!(size(dir.path(), "j"), START + 2 * STEP);
        // Idle now: grown to what it held and half again, rounded up to whole steps.
        j.switch();
        write_all(&mut j, 8..10);
        let grown = START + 3 * STEP;
        match background {
            true => {
                drop(j);
                assert_eq!(size(dir.path(), "j"), grown, "grown on its own thread");
                assert_eq!(
                    size(dir.path(), "k"),
                    START + STEP,
                    "the active file is not"
                );
                let j = Journals::new(open("j"), open("k"), background);
                assert_eq!(
                    seqs(&j.records_after(0).unwrap()),
                    [1, 2, 3, 4, 5, 6, 7, 8, 9]
                );
            }
            false => {
                assert_eq!(size(dir.path(), "j"), START + 2 * STEP, "owed until needed");
                j.switch();
                assert_eq!(size(dir.path(), "j"), grown, "grown once records go there");
                for seq in 10..=19 {
                    j.write(seq, &big).unwrap();
                }
                j.sync().unwrap();
                assert_eq!(
                    size(dir.path(), "j"),
                    grown,
                    "the records fit without growing"
                );
                assert_eq!(seqs(&j.records_after(9).unwrap()).len(), 10);
            }
        }
    }
}

#[test]
fn a_growth_ahead_that_fails_leaves_the_length_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    j.append(1, b"kept").unwrap();
    let len = j.len;
    j.break_file();
    j.grow_ahead(MAX, false);
    j.settle(false);
    assert_eq!(j.len, len, "the zeroes are written again when needed");
    assert!(j.growing.is_none());
    assert_eq!(seqs(&journal(dir.path()).records_after(0).unwrap()), [1]);
}

#[test]
fn growing_ahead_stops_at_the_maximum_and_never_shrinks_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = journal(dir.path());
    j.grow_ahead(100 * STEP, false);
    j.settle(false);
    assert_eq!(
        j.len,
        START + 2 * STEP,
        "up to the maximum and the step it ends in"
    );
    j.grow_ahead(STEP, false);
    assert!(j.growing.is_none(), "nothing to grow");
    // A file with a step of room past what its period used grows nothing.
    let mut pair = pair(dir.path());
    write_all(&mut pair, 1..4);
    pair.switch();
    pair.switch();
    assert_eq!(size(dir.path(), "k"), START + STEP);
    assert_eq!(size(dir.path(), "j"), START + 2 * STEP);
}
