//! Prism's validating proxy in front of a fake vendor: every request clearance sends and every
//! answer the fake gives is checked against `../shared/vendor-specs/`. Installed once by
//! `tests/vendors/install-prism`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A vendor spec: `../shared/vendor-specs/`, the workspace's source of truth, or where the
/// checkout stands alone, the copy in `tests/vendors/specs/` (kept equal by
/// [`the_copies_match_the_shared_specs_and_fixtures`]).
pub fn spec(name: &str) -> PathBuf {
    shared("vendor-specs", "specs", name)
}

/// A sample payload from `../shared/fixtures/` (or its copy in `tests/vendors/fixtures/`).
pub fn fixture(name: &str) -> PathBuf {
    shared("fixtures", "fixtures", name)
}

fn shared(dir: &str, copies: &str, name: &str) -> PathBuf {
    let shared = repo().join("../shared").join(dir).join(name);
    if shared.exists() {
        shared
    } else {
        repo().join("tests/vendors").join(copies).join(name)
    }
}

#[test]
fn the_copies_match_the_shared_specs_and_fixtures() {
    for (dir, copies) in [("vendor-specs", "specs"), ("fixtures", "fixtures")] {
        let Ok(entries) = std::fs::read_dir(repo().join("../shared").join(dir)) else {
            continue; // A checkout on its own has only the copies.
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let copy = repo()
                .join("tests/vendors")
                .join(copies)
                .join(path.file_name().unwrap());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&copy).unwrap_or_default(),
                "{} differs from its copy in tests/vendors/{copies}/",
                path.display()
            );
        }
    }
}

fn prism_binary() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let status = Command::new(repo().join("tests/vendors/install-prism"))
                .status()
                .expect("run tests/vendors/install-prism");
            assert!(status.success(), "Prism could not be installed");
            repo().join("target/prism/node_modules/.bin/prism")
        })
        .clone()
}

/// A running proxy; killed when dropped.
pub struct Prism {
    pub url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Prism {
    /// Starts `prism proxy --errors SPEC UPSTREAM` on a free port and waits until it listens.
    pub async fn start(spec_file: &str, upstream: &str) -> Self {
        let binary = prism_binary();
        let spec = spec(spec_file);
        let upstream = upstream.to_owned();
        tokio::task::spawn_blocking(move || Self::spawn(&binary, &spec, &upstream))
            .await
            .unwrap()
    }

    fn spawn(binary: &std::path::Path, spec: &std::path::Path, upstream: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(binary)
            .args([
                "proxy",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(spec)
            .arg(upstream)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start prism");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        while !log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("Prism is listening"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prism did not start: {:?}",
                log.lock().unwrap()
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("prism exited ({status}): {:?}", log.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        }
    }

    /// What Prism found wrong: requests the spec does not allow, answers that do not match it
    /// (a status the spec does not list, such as an injected 503, is not counted).
    pub fn violations(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| {
                l.contains('✖')
                    || (l.contains("Violation")
                        && !l.contains("Unable to match the returned status code"))
            })
            .cloned()
            .collect()
    }

    /// Fails with Prism's whole log (the lines before a violation say which call it was).
    pub fn assert_clean(&self) {
        let violations = self.violations();
        let log = self.log.lock().unwrap().join("\n");
        assert!(violations.is_empty(), "Prism found: {violations:#?}\n{log}");
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
