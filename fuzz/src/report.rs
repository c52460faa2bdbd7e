//! The run's figures: inputs, what the upload check accepted and refused (by reason,
//! with numbers and names taken out so that alike refusals count together), what the
//! job converted, the slowest input, peak memory, and every finding with the command
//! that reproduces it.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

use maplink::Error;

/// Findings printed in full (the count covers all of them).
const FINDINGS_SHOWN: usize = 20;

#[derive(Debug, Default)]
pub struct Tally {
    pub inputs: u64,
    /// Time spent mutating (the rest is the code under test).
    pub building: Duration,
    pub xlsx: u64,
    pub csv: u64,
    pub accepted: u64,
    pub refused: BTreeMap<String, u64>,
    pub converted: u64,
    pub rows: u64,
    pub findings: u64,
    pub shown: Vec<String>,
    pub slowest: Option<(Duration, String, usize)>,
    pub peak_rss_kib: u64,
    pub peak_rss_at: Option<String>,
    pub peak_virtual_kib: u64,
}

impl Tally {
    pub fn refusal(&mut self, e: &Error) {
        *self.refused.entry(class(e)).or_default() += 1;
    }

    pub fn finding(&mut self, text: String) {
        eprintln!("FINDING: {text}");
        self.findings += 1;
        if self.shown.len() < FINDINGS_SHOWN {
            self.shown.push(text);
        }
    }

    pub fn timed(&mut self, took: Duration, label: &str, len: usize) {
        if self.slowest.as_ref().is_none_or(|(t, ..)| took > *t) {
            self.slowest = Some((took, label.to_owned(), len));
        }
    }

    /// Reads the peak memory after `label` ran, remembering the input that raised it.
    pub fn memory(&mut self, label: &str) {
        let (rss, virt) = crate::guard::peak_memory_kib();
        if rss > self.peak_rss_kib {
            self.peak_rss_kib = rss;
            self.peak_rss_at = Some(label.to_owned());
        }
        self.peak_virtual_kib = virt;
    }

    pub fn summary(&self, seed: u64, took: Duration) -> String {
        let mut s = String::new();
        let secs = took.as_secs_f64();
        let _ = writeln!(
            s,
            "maplink-fuzz: seed {seed}: {} inputs ({} .xlsx, {} .csv) in {secs:.1} s ({:.0} inputs/s; {:.1} s of it mutating)",
            self.inputs,
            self.xlsx,
            self.csv,
            self.inputs as f64 / secs.max(0.001),
            self.building.as_secs_f64()
        );
        let refused: u64 = self.refused.values().sum();
        let _ = writeln!(
            s,
            "  upload check: {} accepted, {refused} refused; job: {} converted ({} rows)",
            self.accepted, self.converted, self.rows
        );
        let mut classes: Vec<_> = self.refused.iter().collect();
        classes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (class, n) in classes {
            let _ = writeln!(s, "    {n:>8}  {class}");
        }
        if let Some((t, label, len)) = &self.slowest {
            let _ = writeln!(
                s,
                "  slowest input: {label} ({len} bytes), {:.2} s",
                t.as_secs_f64()
            );
        }
        let _ = writeln!(
            s,
            "  peak RSS {:.0} MiB (reached at {}), peak virtual memory {:.0} MiB",
            self.peak_rss_kib as f64 / 1024.0,
            self.peak_rss_at.as_deref().unwrap_or("-"),
            self.peak_virtual_kib as f64 / 1024.0
        );
        let _ = writeln!(s, "  findings: {}", self.findings);
        for f in &self.shown {
            let _ = writeln!(s, "    {f}");
        }
        s
    }
}

/// A refusal's kind and message with the specifics taken out: numbers become `N`,
/// quoted names `"…"`, parenthesised details `(…)`, the columns found `…`.
pub fn class(e: &Error) -> String {
    let kind = match e {
        Error::Sheet(_) => "Sheet",
        Error::TooLarge(_) => "TooLarge",
        Error::Invalid(_) => "Invalid",
        _ => "other",
    };
    let mut message = e.to_string();
    // The columns a sheet has are the file's own text, not the reason.
    if let Some(at) = message.find("Found columns:") {
        message.truncate(at + "Found columns:".len());
        message.push_str(" …");
    }
    let message: Vec<char> = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < message.len() {
        let c = message[i];
        i += 1;
        match c {
            '0'..='9' => {
                // `1,048,576` and `2.5` are one number; the `.` ending a sentence is not.
                while i < message.len()
                    && (message[i].is_ascii_digit()
                        || (matches!(message[i], ',' | '.')
                            && message.get(i + 1).is_some_and(char::is_ascii_digit)))
                {
                    i += 1;
                }
                out.push('N');
            }
            '"' | '(' => {
                let close = if c == '"' { '"' } else { ')' };
                while i < message.len() && message[i] != close {
                    i += 1;
                }
                i += 1;
                out.push_str(if c == '"' { "\"…\"" } else { "(…)" });
            }
            _ => out.push(c),
        }
        if out.chars().count() > 100 {
            out.push('…');
            break;
        }
    }
    format!("{kind}: {out}")
}

/// Writes a failing input; the path written, or why not.
pub fn save(path: &Path, bytes: &[u8]) -> String {
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, bytes));
    match written {
        Ok(()) => format!("saved to {}", path.display()),
        Err(e) => format!("not saved ({}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alike_refusals_fall_in_one_class() {
        let a =
            Error::TooLarge("The sheet \"Data\" has 16,384 columns; the limit is 1,024.".into());
        let b = Error::TooLarge("The sheet \"x\" has 2,000 columns; the limit is 1,024.".into());
        assert_eq!(class(&a), class(&b));
        assert_eq!(
            class(&a),
            "TooLarge: The sheet \"…\" has N columns; the limit is N."
        );
        assert_eq!(
            class(&Error::Sheet(
                "the workbook could not be read (xml: 12)".into()
            )),
            "Sheet: the workbook could not be read (…)"
        );
    }
}
