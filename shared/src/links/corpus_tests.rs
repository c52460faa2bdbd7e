//! The corpus of real-world strings (`tests/corpus/coordinates.tsv`: map links and
//! coordinates as people paste them), each with what the parser must make of it. The
//! file's header describes its columns.

use super::*;

const CORPUS: &str = include_str!("../../../tests/corpus/coordinates.tsv");

/// The corpus must keep at least this many strings.
const MIN_LINES: usize = 60;

/// How close an expected pair must be, in degrees, unless a line says otherwise.
const DEFAULT_TOLERANCE: f64 = 1e-7;

/// The input column with its escapes (`\t`, `\\`) undone.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// What a line expects to be wrong with its input, if anything.
fn check(input: &str, expected: &str, pattern: &str) -> Result<(), String> {
    let parsed = parse(input);
    let Some((lat, lng, tolerance)) = expected_pair(expected)? else {
        let code = if expected == "online" {
            "no_coordinates"
        } else {
            expected
        };
        return match parsed {
            Err(e) if e.code() == code => Ok(()),
            other => Err(format!("expected {expected}, got {other:?}")),
        };
    };
    let parsed = parsed.map_err(|e| format!("expected {expected}, got {} ({e})", e.code()))?;
    let Coordinates {
        lat: got_lat,
        lng: got_lng,
    } = parsed.coordinates;
    if (got_lat - lat).abs() > tolerance || (got_lng - lng).abs() > tolerance {
        return Err(format!("expected {expected}, got {got_lat},{got_lng}"));
    }
    if parsed.pattern.as_str() != pattern {
        return Err(format!(
            "expected pattern {pattern}, got {}",
            parsed.pattern.as_str()
        ));
    }
    Ok(())
}

/// `lat,lng` or `lat,lng±tolerance` as numbers; `None` for an error code.
fn expected_pair(expected: &str) -> Result<Option<(f64, f64, f64)>, String> {
    let Some((lat, rest)) = expected.split_once(',') else {
        return Ok(None);
    };
    let (lng, tolerance) = rest.split_once('±').unwrap_or((rest, ""));
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|e| format!("bad expected value {s:?}: {e}"))
    };
    let tolerance = if tolerance.is_empty() {
        DEFAULT_TOLERANCE
    } else {
        number(tolerance)?
    };
    Ok(Some((number(lat)?, number(lng)?, tolerance)))
}

#[test]
fn every_corpus_line_parses_as_expected() {
    let mut lines = 0;
    let mut failures = Vec::new();
    for (i, line) in CORPUS.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        lines += 1;
        let columns: Vec<&str> = line.split('\t').collect();
        let [input, expected, pattern, _comment] = columns[..] else {
            failures.push(format!("line {}: 4 columns expected", i + 1));
            continue;
        };
        if let Err(why) = check(&unescape(input), expected, pattern) {
            failures.push(format!("line {}: {input:?}: {why}", i + 1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(lines >= MIN_LINES, "only {lines} corpus lines");
}

#[test]
fn escapes_are_undone() {
    assert_eq!(unescape(r"-26.1\t28.0"), "-26.1\t28.0");
    assert_eq!(unescape(r"a\\b"), r"a\b");
}
