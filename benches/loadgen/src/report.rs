//! `loadgen report FILE`: medians of repeated runs per scenario and server, ratios against the
//! bare WebSocket server and the Node server, and the targets of issue 8, as a Markdown table.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::Error;

/// What a ratio must reach: `ours / other >= min` (or `<= max` for costs).
#[derive(Clone, Copy)]
enum Target {
    None,
    AtLeast(&'static str, f64),
    AtMost(&'static str, f64),
    /// An absolute bound on our own figure.
    Absolute(f64),
}

struct Metric {
    key: &'static str,
    label: &'static str,
    targets: &'static [Target],
}

const fn m(key: &'static str, label: &'static str, targets: &'static [Target]) -> Metric {
    Metric {
        key,
        label,
        targets,
    }
}

const DIAG: [Metric; 2] = [
    m("server_cpu_util", "server CPU (cores)", &[Target::None]),
    m("loadgen_cpu_util", "loadgen CPU (cores)", &[Target::None]),
];

fn metrics(scenario: &str, transport: &str) -> Vec<Metric> {
    let mut v = match (scenario, transport) {
        ("connect", _) => vec![
            m(
                "conn_per_s",
                "connections/s",
                &[Target::AtLeast("bare", 0.9)],
            ),
            m(
                "conn_per_server_cpu_s",
                "connections per server CPU-s",
                &[Target::None],
            ),
            m("connect_p99_us", "connect p99 (µs)", &[Target::None]),
            m(
                "rss_per_socket_bytes",
                "RSS per idle socket (bytes)",
                &[Target::AtMost("bare", 1.5)],
            ),
        ],
        ("echo", "polling") => vec![
            m("acks_per_s", "acks/s", &[Target::AtLeast("node", 3.0)]),
            m(
                "acks_per_server_cpu_s",
                "acks per server CPU-s",
                &[Target::None],
            ),
            m("latency_p50_us", "latency p50 (µs)", &[Target::None]),
            m("latency_p99_us", "latency p99 (µs)", &[Target::None]),
            m("fairness", "fairness (slowest/median)", &[Target::None]),
        ],
        ("echo", _) => vec![
            m("acks_per_s", "acks/s", &[Target::None]),
            m(
                "acks_per_server_cpu_s",
                "acks per server CPU-s",
                &[Target::AtLeast("bare", 0.95)],
            ),
            m("latency_p50_us", "latency p50 (µs)", &[Target::None]),
            m(
                "latency_p99_us",
                "latency p99 (µs)",
                &[Target::AtMost("bare", 1.5)],
            ),
            m(
                "fairness",
                "fairness (slowest/median)",
                &[Target::Absolute(0.9)],
            ),
        ],
        ("bcast", _) => vec![
            m(
                "deliveries_per_s",
                "deliveries/s",
                &[Target::AtLeast("bare", 0.9), Target::AtLeast("node", 8.0)],
            ),
            m(
                "deliveries_per_server_cpu_s",
                "deliveries per server CPU-s",
                &[Target::None],
            ),
            m("reach_all_p50_us", "reach-all p50 (µs)", &[Target::None]),
            m("reach_all_p99_us", "reach-all p99 (µs)", &[Target::None]),
        ],
        _ => vec![
            m("deliveries_per_s", "deliveries/s", &[Target::None]),
            m(
                "deliveries_per_server_cpu_s",
                "deliveries per server CPU-s",
                &[Target::None],
            ),
            m("reach_all_p50_us", "reach-all p50 (µs)", &[Target::None]),
            m("reach_all_p99_us", "reach-all p99 (µs)", &[Target::None]),
        ],
    };
    v.extend(DIAG);
    v
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        let s = format!("{v:.0}");
        // Thousands separators for readability.
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push('\u{202f}');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Prints the table for the runs in `file` (one JSON object per line).
pub(crate) fn report(file: &str, servers: &[String], ours: &str) -> Result<(), Error> {
    let text = std::fs::read_to_string(file)?;
    // (scenario, transport, clients) -> server -> metric -> values
    type Runs = BTreeMap<String, BTreeMap<String, Vec<f64>>>;
    let mut groups: Vec<((String, String, u64), Runs)> = Vec::new();
    for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
        let v: Value = serde_json::from_str(line)?;
        let key = (
            v["scenario"].as_str().unwrap_or("?").to_owned(),
            v["transport"].as_str().unwrap_or("websocket").to_owned(),
            v["clients"].as_u64().unwrap_or(0),
        );
        let server = v["server"].as_str().unwrap_or("?").to_owned();
        let idx = match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                groups.push((key, BTreeMap::new()));
                groups.len() - 1
            }
        };
        let runs = groups[idx].1.entry(server).or_default();
        if let Value::Object(map) = &v {
            for (k, val) in map {
                if let Some(x) = val.as_f64() {
                    runs.entry(k.clone()).or_default().push(x);
                }
            }
        }
    }
    let others: Vec<&String> = servers.iter().filter(|s| *s != ours).collect();
    let mut header = String::from("| scenario | metric |");
    let mut rule = String::from("|---|---|");
    for s in servers {
        header.push_str(&format!(" {s} |"));
        rule.push_str("---:|");
    }
    for o in &others {
        header.push_str(&format!(" {ours}/{o} |"));
        rule.push_str("---:|");
    }
    header.push_str(" target |");
    rule.push_str("---|");
    println!("{header}");
    println!("{rule}");
    for ((scenario, transport, clients), runs) in &groups {
        let name = if transport == "websocket" {
            format!("{scenario} ({clients} sockets)")
        } else {
            format!("{scenario} {transport} ({clients} sockets)")
        };
        let repeats = runs
            .values()
            .filter_map(|m| m.get("clients"))
            .map(Vec::len)
            .max();
        for metric in metrics(scenario, transport) {
            let med = |server: &str| {
                runs.get(server)
                    .and_then(|m| m.get(metric.key))
                    .and_then(|v| median(v.clone()))
            };
            if servers.iter().all(|s| med(s).is_none()) {
                continue;
            }
            let mut row = format!("| {name} ×{} | {} |", repeats.unwrap_or(0), metric.label);
            for s in servers {
                row.push_str(&format!(" {} |", med(s).map_or("–".to_owned(), fmt)));
            }
            for o in &others {
                let ratio = match (med(ours), med(o)) {
                    (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
                    _ => "–".to_owned(),
                };
                row.push_str(&format!(" {ratio} |"));
            }
            let mut goals = Vec::new();
            for t in metric.targets {
                let (text, ok) = match *t {
                    Target::None => continue,
                    Target::AtLeast(o, min) => (
                        format!("≥ {min}× {o}"),
                        med(ours).zip(med(o)).map(|(a, b)| b > 0.0 && a / b >= min),
                    ),
                    Target::AtMost(o, max) => (
                        format!("≤ {max}× {o}"),
                        med(ours).zip(med(o)).map(|(a, b)| b > 0.0 && a / b <= max),
                    ),
                    Target::Absolute(min) => (format!("≥ {min}"), med(ours).map(|a| a >= min)),
                };
                let mark = match ok {
                    Some(true) => "met",
                    Some(false) => "**not met**",
                    None => "n/a",
                };
                goals.push(format!("{text}: {mark}"));
            }
            row.push_str(&format!(" {} |", goals.join("; ")));
            println!("{row}");
        }
    }
    Ok(())
}
