//! Power-loss simulation, in the style of ALICE and CrashMonkey: the journal and the database
//! file live on a simulated disk ([`SimDisk`]) that keeps what was synced apart from what was
//! only written. A seeded workload runs the real service over it (lone and batched
//! decisions, approvals, sweeps, database syncs, injected sync and write failures). At every
//! I/O call, crash images are built — the synced state plus all, a prefix, a random subset,
//! or a torn sector of the writes not synced — and each is opened as a restart would:
//!
//! - every change acknowledged before that moment is there;
//! - the state is exactly the one some commit of the live run left (the journal sequence it
//!   opens at names which), so no half of a transaction survives and nothing out of order;
//! - its audit chain verifies;
//! - and, for some images, a crash at any I/O call of that recovery itself recovers to the
//!   same state.
//!
//! `CLEARANCE_POWER_LOSS_SEED` (a number, or `random`) and `CLEARANCE_POWER_LOSS_STEPS` make
//! a longer run; the seed is printed so that a failure can be replayed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod content;
mod cut;
mod disk;
mod workload;

use super::super::tables::{self, Spec};
use super::super::{Store, StoreOptions};
use crate::evidence::Verifier;
use crate::store::AuditQueries;
use disk::{Image, Moment, SimDisk};
use rand::SeedableRng;
use rand::rngs::StdRng;
use redb::ReadTransaction;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// How long a run is.
#[derive(Debug, Clone, Copy)]
struct Run {
    seed: u64,
    /// Operations of the workload.
    steps: usize,
    /// Crash images per I/O call.
    cuts: usize,
    /// Every how many images a crash during recovery is simulated too.
    nested_every: usize,
}

impl Run {
    /// The CI run (fixed seed), or what the environment asks for.
    fn from_env() -> Self {
        let seed = match std::env::var("CLEARANCE_POWER_LOSS_SEED").as_deref() {
            Ok("random") => rand::random(),
            Ok(n) => n
                .parse()
                .expect("CLEARANCE_POWER_LOSS_SEED: a number or `random`"),
            Err(_) => 20_261_204,
        };
        let steps = std::env::var("CLEARANCE_POWER_LOSS_STEPS")
            .ok()
            .map_or(40, |n| {
                n.parse().expect("CLEARANCE_POWER_LOSS_STEPS: a number")
            });
        Self {
            seed,
            steps,
            cuts: 4,
            nested_every: 30,
        }
    }
}

/// A digest of every table's every entry.
type Digest32 = [u8; 32];

fn state_of(txn: &ReadTransaction) -> Digest32 {
    let mut hash = Sha256::new();
    for (table, key, value) in tables::dump_all(txn).unwrap() {
        for part in [table.as_bytes(), &key, &value] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
    }
    hash.finalize().into()
}

fn journal_seq(txn: &ReadTransaction) -> u64 {
    txn.open_table(tables::JOURNAL::DEF)
        .unwrap()
        .get(tables::JOURNAL_SEQ)
        .unwrap()
        .map_or(0, |seq| seq.value())
}

/// What the live run committed, and what it acknowledged.
#[derive(Debug, Default)]
struct Live {
    /// The state after each commit, by its journal sequence.
    states: BTreeMap<u64, Digest32>,
    /// The last sequence committed.
    last: u64,
    /// Every change acknowledged so far was committed at or before this sequence.
    acked: u64,
}

/// What a crash image opened to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recovered {
    seq: u64,
    state: Digest32,
}

/// Opens the files of `disk` as a restart would (the key files from `keys`), and checks that
/// the audit chain verifies.
fn open(keys: &Path, disk: SimDisk) -> Result<Recovered, String> {
    let options = StoreOptions {
        disk: Arc::new(disk),
        ..StoreOptions::default()
    };
    let store = Store::open_with(keys, options).map_err(|e| format!("does not open: {e}"))?;
    let txn = store.durable.newest().map_err(|e| e.to_string())?;
    let recovered = Recovered {
        seq: journal_seq(&txn),
        state: state_of(&txn),
    };
    let mut verifier = Verifier::new(Some(store.audit_key().clone()))
        .with_public_key(Some(store.public_key().clone()));
    store
        .read()
        .and_then(|read| read.verify_audit(&mut verifier))
        .map_err(|e| e.to_string())?;
    let report = verifier.finish();
    if !report.ok {
        return Err(format!(
            "the audit chain does not verify: {:?}",
            report.fault
        ));
    }
    Ok(recovered)
}

/// Opens `image`, and again after a crash at each I/O call of that first opening (cut as
/// the harness cuts): every one must recover to the same state.
fn open_crashing_in_recovery(
    keys: &Path,
    image: &Image,
    rng: &mut StdRng,
    cuts: usize,
) -> Result<Recovered, String> {
    let disk = SimDisk::from_image(image.clone());
    let moments = Arc::new(Mutex::new(Vec::<Moment>::new()));
    let seen = Arc::clone(&moments);
    disk.observe(move |m| {
        seen.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(m.clone())
    });
    let first = open(keys, disk)?;
    let moments = std::mem::take(&mut *moments.lock().unwrap_or_else(PoisonError::into_inner));
    for (call, moment) in moments.iter().enumerate() {
        for cut in moment.cuts(rng, cuts) {
            let again = open(keys, SimDisk::from_image(moment.image(cut)))
                .map_err(|e| format!("crash at call {call} of recovery ({cut:?}): {e}"))?;
            if again != first {
                return Err(format!(
                    "a crash at call {call} of recovery ({cut:?}) recovers to sequence {} \
                     instead of {}",
                    again.seq, first.seq
                ));
            }
        }
    }
    Ok(first)
}

/// Everything the images opened to, and what went wrong.
#[derive(Debug, Default)]
struct Findings {
    /// `(call, cut, recovered)` of every image.
    images: Vec<(u64, String, Recovered)>,
    failures: Vec<String>,
    nested: usize,
}

/// Builds and opens the crash images of `moment` (the I/O call numbered `call`).
fn crash_at(
    keys: &Path,
    moment: &Moment,
    call: u64,
    acked: u64,
    rng: &mut StdRng,
    run: Run,
    findings: &mut Findings,
) {
    for cut in moment.cuts(rng, run.cuts) {
        let image = moment.image(cut);
        let nested = findings.images.len().is_multiple_of(run.nested_every);
        let opened = if nested {
            findings.nested += 1;
            open_crashing_in_recovery(keys, &image, rng, 2)
        } else {
            open(keys, SimDisk::from_image(image))
        };
        match opened {
            Ok(r) if r.seq < acked => findings.failures.push(format!(
                "call {call} ({cut:?}): opens at sequence {} but {acked} was acknowledged",
                r.seq
            )),
            Ok(r) => findings.images.push((call, format!("{cut:?}"), r)),
            Err(e) => findings
                .failures
                .push(format!("call {call} ({cut:?}): {e}")),
        }
    }
}

#[test]
fn every_crash_image_recovers_every_acknowledged_change_to_a_committed_state() {
    let run = Run::from_env();
    eprintln!(
        "power-loss harness: seed {} ({} steps)",
        run.seed, run.steps
    );
    let keys = tempfile::tempdir().unwrap();
    let disk = SimDisk::default();
    let live = Arc::new(Mutex::new(Live::default()));
    let findings = Arc::new(Mutex::new(Findings::default()));

    let world = workload::World::start(keys.path(), &disk, run.seed);
    {
        let live = Arc::clone(&live);
        let txn = world.store().durable.newest().unwrap();
        let mut l = live.lock().unwrap();
        let seq = journal_seq(&txn);
        (l.last, l.acked) = (seq, seq);
        l.states.insert(seq, state_of(&txn));
    }
    world.store().durable.on_commit(super::CommitHook(Box::new({
        let live = Arc::clone(&live);
        move |seq, txn| {
            let mut l = live.lock().unwrap_or_else(PoisonError::into_inner);
            l.states.insert(seq, state_of(&txn));
            l.last = seq;
        }
    })));
    disk.observe({
        let (live, findings) = (Arc::clone(&live), Arc::clone(&findings));
        let keys: PathBuf = keys.path().to_path_buf();
        let mut rng = StdRng::seed_from_u64(run.seed ^ 0x5eed);
        let mut call = 0;
        move |moment| {
            call += 1;
            let acked = live.lock().unwrap_or_else(PoisonError::into_inner).acked;
            let mut findings = findings.lock().unwrap_or_else(PoisonError::into_inner);
            if findings.failures.is_empty() {
                crash_at(&keys, moment, call, acked, &mut rng, run, &mut findings);
            }
        }
    });

    let done = world.run(run.steps, |committed| {
        let mut l = live.lock().unwrap();
        if committed {
            l.acked = l.last;
        }
    });
    disk.stop_observing();

    let findings = findings.lock().unwrap();
    let live = live.lock().unwrap();
    let mut failures = findings.failures.clone();
    for (call, cut, r) in &findings.images {
        match live.states.get(&r.seq) {
            Some(state) if *state == r.state => {}
            Some(_) => failures.push(format!(
                "call {call} ({cut}): the state at sequence {} is not the one committed",
                r.seq
            )),
            None => failures.push(format!(
                "call {call} ({cut}): sequence {} was never committed",
                r.seq
            )),
        }
    }
    eprintln!(
        "power-loss harness: {done}, {} I/O calls, {} crash images ({} with crashes during \
         recovery), {} distinct states",
        disk.calls(),
        findings.images.len(),
        findings.nested,
        live.states.len()
    );
    assert!(
        failures.is_empty(),
        "seed {}: {} failures, the first: {:#?}",
        run.seed,
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        findings.images.len() > 10 * run.steps,
        "the run imaged too little"
    );
}
