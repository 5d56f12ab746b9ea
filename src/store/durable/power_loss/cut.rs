//! Crash images: how a moment of the simulated disk is cut into what a power loss leaves.

use super::content::Op;
use super::disk::{Image, Moment};
use rand::RngExt;

/// Sectors a torn write is made of: a disk writes each whole or not at all.
const SECTOR: usize = 512;
/// How a crash image is made from a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Only what was synced.
    Synced,
    /// The first `n` writes not synced (in the order the disk got them).
    Prefix(usize),
    /// A random subset of the writes not synced (disks reorder).
    Subset(u64),
    /// The first `n` writes, and random sectors of the next one.
    Torn(usize, u64),
}

impl Moment {
    /// Every write not synced yet, across files, in the order the disk got them.
    fn pending(&self) -> Vec<(u64, &str, &Op)> {
        let mut all: Vec<_> = self
            .files
            .iter()
            .flat_map(|(name, f)| f.pending.iter().map(move |(o, op)| (*o, name.as_str(), op)))
            .collect();
        all.sort_by_key(|(o, ..)| *o);
        all
    }

    /// How many writes are not synced.
    pub fn unsynced(&self) -> usize {
        self.files.values().map(|f| f.pending.len()).sum()
    }

    /// Up to `most` ways to cut this moment, chosen with `rng`: the synced state, all
    /// writes, prefixes, subsets and torn writes.
    pub fn cuts(&self, rng: &mut impl rand::Rng, most: usize) -> Vec<Cut> {
        let n = self.unsynced();
        let mut cuts = vec![Cut::Synced];
        if n == 0 {
            return cuts;
        }
        cuts.push(Cut::Prefix(n));
        while cuts.len() < most {
            let k = rng.random_range(0..n);
            cuts.push(match cuts.len() % 3 {
                0 => Cut::Prefix(k),
                1 => Cut::Subset(rng.random()),
                _ => Cut::Torn(k, rng.random()),
            });
        }
        cuts
    }

    /// The files a crash cut by `cut` leaves.
    pub fn image(&self, cut: Cut) -> Image {
        let mut files: Image = self
            .files
            .iter()
            .map(|(name, f)| (name.clone(), f.synced.clone()))
            .collect();
        let pending = self.pending();
        let mut keep = |name: &str, op: &Op| {
            if let Some(content) = files.get_mut(name) {
                op.apply(content);
            }
        };
        match cut {
            Cut::Synced => {}
            Cut::Prefix(n) => pending.iter().take(n).for_each(|(_, f, op)| keep(f, op)),
            Cut::Subset(seed) => {
                let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
                for (_, f, op) in &pending {
                    if rng.random_bool(0.5) {
                        keep(f, op);
                    }
                }
            }
            Cut::Torn(n, seed) => {
                pending.iter().take(n).for_each(|(_, f, op)| keep(f, op));
                if let Some((_, f, op)) = pending.get(n) {
                    torn(op, seed).iter().for_each(|op| keep(f, op));
                }
            }
        }
        files
    }
}

/// The sectors of `op` that reached the disk when power was cut during it: each 512-byte
/// sector (aligned on the file) whole or not at all, the rest keeping their old bytes.
fn torn(op: &Op, seed: u64) -> Vec<Op> {
    let (at, len) = match op {
        Op::Write { at, data } => (*at, data.len()),
        Op::Zeroes { at, len } => (*at, *len),
        Op::Len(_) => return vec![op.clone()],
    };
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut out = Vec::new();
    let (mut from, end) = (at, at + len);
    while from < end {
        let to = ((from / SECTOR + 1) * SECTOR).min(end);
        if rng.random_bool(0.5) {
            out.push(match op {
                Op::Write { data, .. } => Op::Write {
                    at: from,
                    data: data[from - at..to - at].to_vec(),
                },
                _ => Op::Zeroes {
                    at: from,
                    len: to - from,
                },
            });
        }
        from = to;
    }
    out
}
