//! One cell's value, as read from the file and as written back.

/// A cell value. Dates keep their spreadsheet serial number so they are written back
/// as the same date.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A spreadsheet date/time serial (days since 1899-12-30).
    DateTime(f64),
    /// An error value such as `#N/A`, kept as its text.
    Error(String),
}

impl Cell {
    /// The cell as text, the way a user reads it: `""` for empty, integers without `.0`.
    pub fn text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(s) | Self::Error(s) => s.clone(),
            Self::Number(n) | Self::DateTime(n) => format_number(*n),
            Self::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        }
    }

    /// Empty, or text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// As a JSON value for previews: blanks are `null`, numbers stay numbers, and a
    /// non-finite number is `null` (JSON has no NaN).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Empty => serde_json::Value::Null,
            Self::Text(s) if s.trim().is_empty() => serde_json::Value::Null,
            Self::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Self::Bool(b) => serde_json::Value::Bool(*b),
            other => serde_json::Value::String(other.text()),
        }
    }
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
