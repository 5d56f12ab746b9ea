//! What the load bench measures besides the load itself: the machine's floors, CPU time,
//! memory, and the server's own time per decision.

use super::connect;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::HOST;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Peak resident memory of `pid` so far, in KiB (`VmHWM`).
pub(super) fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time `pid` has used so far (user and system, all threads), from `/proc/<pid>/stat`,
/// in clock ticks of 10 ms (Linux's `USER_HZ` is 100 on every architecture it runs on).
pub(super) fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Microseconds of CPU per decision between two readings of [`cpu_ticks`].
pub(super) fn cpu_micros_per(before: u64, after: u64, decisions: u64) -> f64 {
    // A reading that failed is 0: no figure rather than an overflow.
    after.saturating_sub(before) as f64 * 10_000.0 / decisions.max(1) as f64
}

/// How many times each floor is measured.
const FLOOR_SAMPLES: u64 = 1_000;
/// The CPU work before each write of the in-situ disk floor: about what a decision does
/// before its journal sync at one client.
const IN_SITU_WORK: Duration = Duration::from_micros(400);

/// A microsecond histogram for latencies up to a minute.
pub(super) fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// Records the time since `since` in microseconds.
pub(super) fn record_since(h: &mut Histogram<u64>, since: Instant) {
    let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(micros.max(1));
}

/// The disk's floor under a durable decision: a 4 KiB write and `fdatasync` into a
/// preallocated file in `dir` (what the journal does per commit), each after `busy` of CPU
/// work on this thread. Back to back (`busy` zero) is the least a sync takes; after work, as
/// a decision's sync comes after its HTTP, Cedar and table work, it takes longer here.
fn fsync_floor(dir: &Path, busy: Duration) -> Histogram<u64> {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fsync-floor");
    let file = std::fs::File::create(&path).unwrap();
    let page = [7u8; 4096];
    let len = 4096 * FLOOR_SAMPLES;
    file.write_all_at(&vec![0; len as usize], 0).unwrap();
    file.sync_all().unwrap();
    let mut h = histogram();
    for offset in (0..len).step_by(page.len()) {
        let working = Instant::now();
        while working.elapsed() < busy {
            std::hint::spin_loop();
        }
        let started = Instant::now();
        file.write_all_at(&page, offset).unwrap();
        file.sync_data().unwrap();
        record_since(&mut h, started);
    }
    std::fs::remove_file(path).unwrap();
    h
}

/// A `GET` of `path`, bodiless.
fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header(HOST, "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// The HTTP floor: `GET /healthz` round trips on one keep-alive connection.
async fn healthz_floor(addr: SocketAddr) -> Histogram<u64> {
    let mut sender = connect(addr).await;
    let mut h = histogram();
    for _ in 0..FLOOR_SAMPLES {
        let request = get("/healthz");
        sender.ready().await.unwrap();
        let started = Instant::now();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
        record_since(&mut h, started);
    }
    h
}

/// The server's own decision-time histogram, as its `/metrics` renders it: from the parsed
/// body to the durable commit, without HTTP or the network.
#[derive(Clone, Copy)]
pub(super) struct DecisionTime {
    sum_secs: f64,
    count: f64,
    within_half_ms: f64,
}

impl DecisionTime {
    pub(super) async fn fetch(addr: SocketAddr) -> Self {
        let mut sender = connect(addr).await;
        let response = sender.send_request(get("/metrics")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("/metrics has no {name}"))
        };
        Self {
            sum_secs: value("clearance_decision_duration_seconds_sum "),
            count: value("clearance_decision_duration_seconds_count "),
            within_half_ms: value("clearance_decision_duration_seconds_bucket{le=\"0.0005\"} "),
        }
    }

    /// The mean in milliseconds and the share within 0.5 ms (per cent) of the decisions made
    /// since `before`.
    pub(super) fn since(self, before: Self) -> (f64, f64) {
        let count = self.count - before.count;
        (
            (self.sum_secs - before.sum_secs) * 1_000.0 / count,
            (self.within_half_ms - before.within_half_ms) * 100.0 / count,
        )
    }
}

/// Microseconds as milliseconds, at quantile `q` of `h`.
pub(super) fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

/// The two floors, measured now and printed as one line: the disk's (in `dir`, back to back
/// and after CPU work) and the HTTP round trip to `addr`. The VM's disk and scheduler move by
/// the minute, so the levels are read against what the machine gave just before and after.
pub(super) fn floors(
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    when: &str,
) -> String {
    let disk = fsync_floor(dir, Duration::ZERO);
    let in_situ = fsync_floor(dir, IN_SITU_WORK);
    let http = runtime.block_on(healthz_floor(addr));
    let line = format!(
        "floors {when}: 4 KiB write + fdatasync p50 {:.2} ms, p99 {:.2} ms (after 0.4 ms of CPU work: p50 {:.2} ms); GET /healthz round trip p50 {:.2} ms, p99 {:.2} ms",
        ms(&disk, 0.50),
        ms(&disk, 0.99),
        ms(&in_situ, 0.50),
        ms(&http, 0.50),
        ms(&http, 0.99),
    );
    eprintln!("{line}");
    line
}
