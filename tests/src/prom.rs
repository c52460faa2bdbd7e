//! Reading Prometheus text exposition in tests, and running `promtool`.

use std::{
    collections::BTreeMap,
    io::Write,
    process::{Command, Stdio},
};

/// `name{labels}` → value, for every sample line.
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the series whose name is `name` and whose labels include every
/// `k="v"` of `labels` (the first match; series order is by name and labels).
pub fn value(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.iter().find_map(|(series, v)| {
        let (n, rest) = series.split_once('{').unwrap_or((series.as_str(), ""));
        (n == name
            && labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\""))))
        .then_some(*v)
    })
}

fn promtool() -> &'static str {
    assert!(
        Command::new("promtool").arg("--version").output().is_ok(),
        "promtool is missing (the README's test command installs Debian's prometheus package)"
    );
    "promtool"
}

/// `promtool check metrics` on `text`; returns its output on failure.
pub fn check_metrics(text: &str) -> Result<(), String> {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `promtool check <what> <file>`.
pub fn check_file(what: &str, file: &std::path::Path) -> Result<String, String> {
    let out = Command::new(promtool())
        .args(["check", what])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}
