//! Latency histograms and process CPU/memory readings from `/proc`.

use std::sync::{
    OnceLock,
    atomic::{AtomicU64, Ordering},
};
use std::time::Instant;

/// Microseconds since the first call: the clock carried in broadcast payloads.
pub(crate) fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Sub-buckets per power of two: values are kept within about 1.6 %.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are exact.
const LINEAR: u64 = 2 * SUB;
const BUCKETS: usize = (LINEAR + 58 * SUB) as usize;

/// A log-linear histogram of microsecond values, safe to share between tasks.
#[derive(Debug)]
pub(crate) struct Histogram {
    counts: Vec<AtomicU64>,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn index(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let exp = 63 - u64::from(v.leading_zeros()); // >= SUB_BITS + 1
        let sub = (v >> (exp - u64::from(SUB_BITS))) & (SUB - 1);
        let i = LINEAR + (exp - u64::from(SUB_BITS) - 1) * SUB + sub;
        (i as usize).min(BUCKETS - 1)
    }

    /// A representative value (the middle) of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < LINEAR {
            return i;
        }
        let exp = (i - LINEAR) / SUB + u64::from(SUB_BITS) + 1;
        let sub = (i - LINEAR) % SUB;
        let width = 1u64 << (exp - u64::from(SUB_BITS));
        (1u64 << exp) + sub * width + width / 2
    }

    pub(crate) fn record(&self, v: u64) {
        if let Some(c) = self.counts.get(Self::index(v)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds every value recorded in `other`.
    pub(crate) fn merge(&self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter().zip(&other.counts) {
            mine.fetch_add(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0..=1), or 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= rank {
                return Self::value(i);
            }
        }
        0
    }
}

/// CPU time (user + system) of a process, in seconds, from `/proc/<pid>/stat`.
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    // Several processes (the nodes of a cluster): the sum.
    if pid.contains(',') {
        return pid.split(',').map(cpu_seconds).sum();
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest`.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture this runs on.
    Some((utime + stime) / 100.0)
}

/// Resident set size of a process in bytes, from `/proc/<pid>/status` (`VmRSS`).
pub(crate) fn rss_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The median of some counts (the lower middle for an even number).
pub(crate) fn median(values: &mut [u64]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_close() {
        for v in [0u64, 1, 127, 128, 129, 1000, 12_345, 1_000_000, 123_456_789] {
            let h = Histogram::new();
            h.record(v);
            let got = h.quantile(0.5) as f64;
            assert!(
                (got - v as f64).abs() <= (v as f64) * 0.02 + 1.0,
                "{v} -> {got}"
            );
        }
        let h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        assert!((h.quantile(0.5) as i64 - 500).abs() <= 8);
        assert!((h.quantile(0.99) as i64 - 990).abs() <= 16);
    }
}
