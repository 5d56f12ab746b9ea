//! `clearance policy validate`, `clearance policy test` and `clearance sweep`, run as a
//! security team's CI and an operator's cron would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    missing_docs
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn clearance(args: &[&str], policies: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(args)
        .arg("--policies")
        .arg(policies)
        .arg("--schema")
        .arg(repo().join("schemas/clearance.cedarschema"))
        .env_remove("CLEARANCE_POLICIES")
        .env_remove("CLEARANCE_SCHEMA")
        .output()
        .expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the shipped pack, tests included, to break on purpose.
fn copy_of_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    for sub in ["", "tests"] {
        for entry in std::fs::read_dir(repo().join("policies").join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

#[test]
fn the_shipped_pack_validates_and_its_tests_pass() {
    let validate = clearance(&["policy", "validate"], &repo().join("policies"));
    assert!(validate.status.success(), "{}", text(&validate.stderr));
    assert!(text(&validate.stdout).contains("stages [manager, security]"));

    let test = clearance(&["policy", "test"], &repo().join("policies"));
    assert!(test.status.success(), "{}", text(&test.stderr));
    assert!(
        text(&test.stdout).contains(" passed, 0 failed"),
        "{}",
        text(&test.stdout)
    );
}

#[test]
fn a_broken_policy_fails_validation_with_file_and_line() {
    let pack = copy_of_pack();
    std::fs::write(
        pack.path().join("broken.cedar"),
        "@id(\"b\")\n@code(\"b\")\n@reason(\"b\")\nforbid (principal, action == Clearance::Action::\"request\", resource)\nwhen { context.colour == \"red\" };\n",
    )
    .unwrap();
    let out = clearance(&["policy", "validate"], pack.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.cedar:5:"), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");

    std::fs::write(
        pack.path().join("broken.cedar"),
        "permit (principal, action, resource);\n",
    )
    .unwrap();
    let out = clearance(&["policy", "validate"], pack.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("broken.cedar:1:1: policy has no @id annotation"));
}

#[test]
fn a_failing_test_case_fails_the_run_and_is_named() {
    let pack = copy_of_pack();
    let path = pack.path().join("review.cedar");
    let policy = std::fs::read_to_string(&path).unwrap();
    // Raise the auto-approval limit: the shipped case for 31 days must now fail.
    std::fs::write(
        &path,
        policy.replace("context.duration_days <= 30", "context.duration_days <= 60"),
    )
    .unwrap();
    let out = clearance(&["policy", "test"], pack.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("FAIL")
            && stderr.contains("low-risk tools for more than 30 days need review"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains(" 1 failed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn sweep_runs_once_for_cron_and_is_idempotent() {
    use clearance::domain::{Email, Grant, GrantState, RequestId, ToolId};
    use clearance::store::{Queries, Store};
    let data = tempfile::tempdir().unwrap();
    let overdue = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut grant = Grant::pending(
        RequestId::generate(overdue),
        Email::parse("user", "alice@example.com").unwrap(),
        ToolId::parse("tool", "grammarly").unwrap(),
        30,
        overdue - chrono::Duration::days(30),
    );
    grant.state = GrantState::Active;
    grant.starts_at = Some(grant.created_at);
    grant.expires_at = Some(overdue);
    {
        let store = Store::open(data.path()).unwrap();
        store.write(|w| w.insert_grant(&grant)).unwrap();
    }
    let sweep = || {
        let out = clearance(
            &["sweep", "--data-dir", data.path().to_str().unwrap()],
            &repo().join("policies"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(sweep().contains("1 grants expired"));
    assert!(sweep().contains("0 grants expired"));
    let store = Store::open(data.path()).unwrap();
    let stored = store
        .read()
        .unwrap()
        .grant(&grant.grant_id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, GrantState::Expired);
}

#[test]
fn bad_settings_are_refused_before_anything_is_created() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let bad = [
        ("--db-cache-mib", "0"),
        ("--db-cache-mib", "lots"),
        ("--db-cache-mib", "1048577"),
        ("--db-sync-ms", "0"),
        ("--db-sync-ms", "soon"),
        ("--checkpoint-every", "0"),
        ("--checkpoint-secs", "0"),
        ("--header-timeout-secs", "0"),
        ("--request-timeout-secs", "0"),
        ("--approval-sla-hours", "0"),
        ("--max-request-age-days", "0"),
    ];
    for (flag, value) in bad {
        let out = clearance(
            &[
                "serve",
                // Were the value let through, the server would stop at this address
                // instead of serving, after creating its data folder.
                "--listen",
                "nowhere",
                "--data-dir",
                data.to_str().unwrap(),
                flag,
                value,
            ],
            &repo().join("policies"),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}")),
            "{stderr}"
        );
        if flag != "--db-cache-mib" {
            assert!(
                stderr.contains("expected a whole number, at least 1"),
                "{stderr}"
            );
        }
        assert!(
            !data.exists(),
            "{flag} {value}: the data folder was created"
        );
    }
}

#[test]
fn a_data_folder_of_a_later_layout_is_refused_and_left_as_it_was() {
    use clearance::store::Store;
    use redb::{ReadableDatabase, ReadableTable, TableHandle};
    let data = tempfile::tempdir().unwrap();
    drop(Store::open(data.path()).unwrap());
    // What a later version would leave: its layout number in the `meta` table.
    const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    let file = data.path().join(Store::FILE);
    // The tables and the layout mark: what a build that misread the folder would change.
    let contents = || {
        let db = redb::Database::open(&file).unwrap();
        let txn = db.begin_read().unwrap();
        let tables: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_owned())
            .collect();
        let layout = txn
            .open_table(META)
            .unwrap()
            .get("layout")
            .unwrap()
            .unwrap()
            .value();
        (tables, layout)
    };
    let later = {
        let db = redb::Database::open(&file).unwrap();
        let txn = db.begin_write().unwrap();
        let later = {
            let mut meta = txn.open_table(META).unwrap();
            let later = meta.get("layout").unwrap().unwrap().value() + 1;
            meta.insert("layout", later).unwrap();
            later
        };
        txn.commit().unwrap();
        later
    };
    let before = contents();

    let out = clearance(
        &["sweep", "--data-dir", data.path().to_str().unwrap()],
        &repo().join("policies"),
    );
    // The log (stderr: stdout is for the sweep's report) says why it cannot start.
    let log = text(&out.stderr);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!("error={} holds layout {later} ", file.display())),
        "{log}"
    );
    assert!(log.contains("nothing was changed"), "{log}");
    assert_eq!(contents(), before, "the database changed");
}

#[test]
fn a_sweep_on_a_folder_a_server_holds_is_refused_and_says_what_to_do() {
    use clearance::store::Store;
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let (server, base) = common::serve(data.path(), &repo().join("policies"));
    // Stopped however the test ends, so that a failed assertion leaves no server behind.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Stop(server);

    let out = clearance(
        &["sweep", "--data-dir", data.path().to_str().unwrap()],
        &repo().join("policies"),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&out.stdout), "", "the error belongs on stderr");
    let file = data.path().join(Store::FILE);
    assert!(
        stderr.contains(&format!(
            "{} is open in another clearance process",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("POST /v1/sweeps/run"), "{stderr}");

    // The server it met goes on serving.
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
