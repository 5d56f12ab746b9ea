//! Unit tests of the verifier: each mutation, and checkpoints.
use super::*;
use crate::evidence::Unanchored;
use chrono::DateTime;
use serde_json::json;

fn chain(n: u64, key: &MacKey) -> Vec<AuditRecord> {
    let mut out: Vec<AuditRecord> = Vec::new();
    for seq in 1..=n {
        let prev = out
            .last()
            .map_or(GENESIS.to_owned(), |r| r.entry_hash.clone());
        let at = DateTime::from_timestamp_millis(1_700_000_000_000 + seq as i64).unwrap();
        out.push(AuditRecord::seal(
            seq,
            at,
            "request.decided".into(),
            "tok_1".into(),
            format!("req_{seq}"),
            json!({"n": seq}),
            prev,
            key,
        ));
    }
    out
}

fn verify(records: &[AuditRecord], key: &MacKey) -> VerifyReport {
    let mut v = Verifier::new(Some(key.clone()));
    records.iter().for_each(|r| v.push(r));
    v.finish()
}

fn fault(records: &[AuditRecord], key: &MacKey) -> Option<(u64, FaultKind)> {
    verify(records, key).fault.map(|f| (f.seq, f.kind))
}

#[test]
fn an_untouched_chain_verifies_to_its_head() {
    let key = MacKey::from_bytes([1; 32]);
    let records = chain(10, &key);
    let report = verify(&records, &key);
    assert!(report.ok);
    assert_eq!(report.entries, 10);
    assert_eq!(report.head.unwrap().hash, records[9].entry_hash);
}

#[test]
fn each_mutation_is_found_at_its_first_bad_seq() {
    let key = MacKey::from_bytes([1; 32]);
    let good = chain(10, &key);
    let mut flips: Vec<Vec<AuditRecord>> = Vec::new();
    for field in 0..9 {
        let mut r = good.clone();
        let e = &mut r[4];
        match field {
            0 => e.seq = 50,
            1 => e.at += chrono::Duration::milliseconds(1),
            2 => e.kind.push('x'),
            3 => e.actor.push('x'),
            4 => e.subject.push('x'),
            5 => e.data = json!({"n": 6}),
            6 => e.prev_hash.replace_range(0..1, "f"),
            7 => e.entry_hash.replace_range(0..1, "f"),
            _ => e.entry_mac.replace_range(0..1, "f"),
        }
        flips.push(r);
    }
    for (i, r) in flips.iter().enumerate() {
        assert_eq!(fault(r, &key), Some((5, FaultKind::Changed)), "field {i}");
    }

    let mut deleted = good.clone();
    deleted.remove(4);
    assert_eq!(fault(&deleted, &key), Some((5, FaultKind::Deleted)));

    let mut swapped = good.clone();
    swapped.swap(4, 5);
    assert_eq!(fault(&swapped, &key), Some((5, FaultKind::Reordered)));

    // A forger without the key: the entry is well formed but not sealed by the service.
    let forged = chain(10, &MacKey::from_bytes([2; 32]));
    let mut inserted = good.clone();
    let mut fake = forged[4].clone();
    fake.prev_hash = good[3].entry_hash.clone();
    fake.entry_hash = fake.computed_hash();
    inserted.insert(4, fake);
    assert_eq!(fault(&inserted, &key), Some((5, FaultKind::Inserted)));

    // Sealed by the service, but after a different entry 4: another history.
    let mut other_history = good.clone();
    let e = &good[4];
    other_history[4] = AuditRecord::seal(
        5,
        e.at,
        e.kind.clone(),
        e.actor.clone(),
        e.subject.clone(),
        e.data.clone(),
        good[2].entry_hash.clone(),
        &key,
    );
    assert_eq!(fault(&other_history, &key), Some((5, FaultKind::Forked)));
}

#[test]
fn checkpoints_anchor_the_chain_and_show_cuts_rollbacks_and_forks() {
    use crate::evidence::Signer;
    let key = MacKey::from_bytes([1; 32]);
    let signer = Signer::from_bytes([3; 32]);
    let public = || Some(signer.public_key().clone());
    let good = chain(10, &key);
    let sign = |r: &AuditRecord| signer.sign(r.seq, &r.entry_hash, r.at);
    let run = |records: &[AuditRecord], pinned: Option<Checkpoint>| {
        let mut v = Verifier::new(Some(key.clone())).with_public_key(public());
        if let Some(pinned) = pinned {
            v.expect(pinned);
        }
        for r in records {
            v.push(r);
            if r.seq % 4 == 0 {
                v.push_checkpoint(&sign(r));
            }
        }
        v.finish()
    };

    let report = run(&good, None);
    assert!(report.ok);
    assert_eq!(report.anchored_seq, Some(8));
    assert_eq!(
        report.unanchored,
        Some(Unanchored {
            from_seq: 9,
            to_seq: 10
        })
    );

    // Rolled back to seq 6 after seq 10 was pinned.
    let report = run(&good[..6], Some(sign(&good[9])));
    assert_eq!(
        report.fault,
        Some(Fault {
            seq: 7,
            kind: FaultKind::Truncated
        })
    );

    // Another history, sealed and signed with the same keys, diverging at seq 5.
    let mut other = good[..4].to_vec();
    for r in &chain(10, &key)[4..] {
        let prev = other
            .last()
            .map(|p: &AuditRecord| p.entry_hash.clone())
            .unwrap();
        other.push(AuditRecord::seal(
            r.seq,
            r.at,
            "grant.revoked".into(),
            r.actor.clone(),
            r.subject.clone(),
            r.data.clone(),
            prev,
            &key,
        ));
    }
    let report = run(&other, Some(sign(&good[9])));
    assert_eq!(
        report.fault,
        Some(Fault {
            seq: 10,
            kind: FaultKind::Forked
        })
    );

    // A checkpoint line whose entries were cut away.
    let mut v = Verifier::new(Some(key.clone())).with_public_key(public());
    good[..3].iter().for_each(|r| v.push(r));
    v.push_checkpoint(&sign(&good[4]));
    assert_eq!(
        v.finish().fault,
        Some(Fault {
            seq: 4,
            kind: FaultKind::Truncated
        })
    );
}

#[test]
fn export_lines_verify_whatever_the_key_order_of_data() {
    let key = MacKey::from_bytes([1; 32]);
    let mut record = chain(1, &key).remove(0);
    record.data = json!({"zeta": 1, "alpha": {"y": 2, "b": [3]}});
    let sealed = AuditRecord::seal(
        1,
        record.at,
        record.kind.clone(),
        record.actor.clone(),
        record.subject.clone(),
        record.data.clone(),
        GENESIS.to_owned(),
        &key,
    );
    let line = serde_json::to_string(&sealed).unwrap();
    assert!(
        line.contains(r#""data":{"alpha":{"b":[3],"y":2},"zeta":1}"#),
        "{line}"
    );
    let reordered = line.replace(
        r#"{"alpha":{"b":[3],"y":2},"zeta":1}"#,
        r#"{ "zeta": 1, "alpha": {"y": 2, "b": [3]} }"#,
    );
    let header = serde_json::to_string(&crate::evidence::ExportLine::Header {
        export: crate::evidence::ExportHeader {
            from: record.at,
            to: record.at,
            start: None,
            end: None,
        },
    })
    .unwrap();
    let verify = |text: &str| {
        let mut v = Verifier::new(Some(key.clone()));
        v.push_line(&header);
        v.push_line(text);
        v.finish()
    };
    for text in [&line, &reordered] {
        assert!(verify(text).ok, "{text}");
    }
    let changed = line.replace(r#""zeta":1"#, r#""zeta":2"#);
    assert_eq!(
        verify(&changed).fault.map(|f| f.kind),
        Some(FaultKind::Changed)
    );
    // An export must start with its header.
    let mut headless = Verifier::new(Some(key.clone()));
    headless.push_line(&line);
    assert_eq!(
        headless.finish().fault.map(|f| (f.seq, f.kind)),
        Some((1, FaultKind::Malformed))
    );
}
