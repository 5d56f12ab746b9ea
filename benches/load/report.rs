//! The load bench's report: every level's row, the medians over rounds, and each target met or
//! missed.

use super::{Args, Round};

/// Prints what `rounds` measured, in the order the README's performance section reads it.
pub(super) fn print(args: &Args, rounds: &[Round]) {
    println!(
        "\nPOST /v1/requests, {} s per level, durable commits, real binary, {} round(s), each on a freshly seeded store:",
        args.secs,
        rounds.len()
    );
    if !args.pause.is_zero() {
        println!(
            "each client paused {} µs (at least) between an answer and its next request",
            args.pause.as_micros()
        );
    }
    println!(
        "| clients | decisions/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/decision | generator CPU µs/decision | in server, mean ms | in server, % ≤ 0.5 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rounds.iter().flat_map(|r| &r.rows) {
        println!("{row}");
    }
    let per_level = per_level(args, rounds);
    if rounds.len() > 1 {
        println!("median (min–max) over {} rounds:", rounds.len());
        println!("| clients | decisions/s | p50 ms | p99 ms |");
        println!("|---|---|---|---|");
        for (clients, figures) in args.levels.iter().zip(&per_level) {
            let column = |i: usize, decimals| {
                median_and_range(figures.iter().map(|f| f[i]).collect(), decimals)
            };
            println!(
                "| {clients:>3} | {} | {} | {} |",
                column(0, 0),
                column(1, 2),
                column(2, 2)
            );
        }
    }
    for (i, round) in rounds.iter().enumerate() {
        println!("round {}: {}", i + 1, round.floors.join("; "));
        println!(
            "round {}: acknowledged {}, missing after SIGKILL and reopening the store: {}; reopening (applying the journal) took {:.2} s; server peak resident memory {:.1} MiB",
            i + 1,
            round.acknowledged,
            round.missing,
            round.reopened.as_secs_f64(),
            round.peak_kib as f64 / 1024.0
        );
    }
    let errors = rounds.iter().map(|r| r.errors).sum();
    let missing = rounds.iter().map(|r| r.missing).sum();
    let peak = rounds.iter().map(|r| r.peak_kib).max().unwrap_or(0);
    print_targets(&args.levels, &per_level, errors, missing, peak);
}

/// For each level in `args.levels`, its (decisions/s, p50, p99) in each round.
fn per_level(args: &Args, rounds: &[Round]) -> Vec<Vec<[f64; 3]>> {
    (0..args.levels.len())
        .map(|level| rounds.iter().map(|r| r.figures[level]).collect())
        .collect()
}

/// The median of some figures; NaN for none.
fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    match figures.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => figures[n / 2],
        n => (figures[n / 2 - 1] + figures[n / 2]) / 2.0,
    }
}

/// Some figures as "median (least–greatest)", with `decimals` places.
fn median_and_range(figures: Vec<f64>, decimals: usize) -> String {
    let min = figures.iter().copied().reduce(f64::min).unwrap_or(f64::NAN);
    let max = figures.iter().copied().reduce(f64::max).unwrap_or(f64::NAN);
    let median = median(figures);
    format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})")
}

/// Each target of the load benchmark, met or missed, from the levels' medians (`per_level` holds
/// each level's (decisions/s, p50, p99) per round).
fn print_targets(
    levels: &[usize],
    per_level: &[Vec<[f64; 3]>],
    errors: u64,
    missing: usize,
    peak: u64,
) {
    // Every run of a level counts, also when the list names it more than once.
    let median_of = |clients: usize, figure: usize| {
        let figures: Vec<f64> = levels
            .iter()
            .zip(per_level)
            .filter(|(c, _)| **c == clients)
            .flat_map(|(_, runs)| runs.iter().map(|f| f[figure]))
            .collect();
        (!figures.is_empty()).then(|| median(figures))
    };
    println!(
        "\ntargets (README, Performance; the median over rounds where a level ran more than once):"
    );
    let verdicts = [
        (
            "≥ 5,000 decisions/s at 64 clients",
            median_of(64, 0).map(|v| (v >= 5_000.0, format!("{v:.0}/s"))),
        ),
        (
            "p99 < 20 ms at 64 clients",
            median_of(64, 2).map(|v| (v < 20.0, format!("{v:.2} ms"))),
        ),
        (
            "p50 < 0.5 ms at 1 client",
            median_of(1, 1).map(|v| (v < 0.5, format!("{v:.2} ms"))),
        ),
        ("zero errors", Some((errors == 0, errors.to_string()))),
        (
            "every acknowledged decision stored",
            Some((missing == 0, format!("{missing} missing"))),
        ),
        (
            "peak memory < 256 MiB",
            Some((
                peak < 256 * 1024,
                format!("{:.1} MiB", peak as f64 / 1024.0),
            )),
        ),
    ];
    for (target, verdict) in verdicts {
        match verdict {
            Some((true, figure)) => println!("  met     {target}: {figure}"),
            Some((false, figure)) => println!("  MISSED  {target}: {figure}"),
            None => println!("  not run {target}"),
        }
    }
}
