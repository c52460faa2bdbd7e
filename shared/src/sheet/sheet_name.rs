//! Sheet names for the output workbook. A workbook may arrive with sheet names Excel
//! would not let anyone type — blank, longer than 31 characters, with `[ ] : * ? / \`,
//! starting or ending with `'`, or two that differ only in case — because not every
//! program that writes .xlsx checks them, and the reader takes them as they are. The
//! writer refuses them, which would fail the job after the upload was accepted; so a
//! name is kept when it is valid and otherwise changed as little as possible.

use std::collections::HashSet;

/// The longest sheet name, in UTF-16 code units (what Excel counts).
const MAX_UNITS: usize = 31;

/// The names given so far in one workbook (lower-cased, as duplicates are found).
#[derive(Debug, Default)]
pub(crate) struct SheetNames {
    taken: HashSet<String>,
}

impl SheetNames {
    /// A valid name for the next sheet, unique in the workbook: forbidden characters
    /// (and a `'` at either end) become `_`, a long name is cut to 31 characters, a
    /// blank one becomes `Sheet<n>`, and a name already used gets ` (2)`, ` (3)`…
    pub fn writable(&mut self, name: &str) -> String {
        let mut base: String = name
            .chars()
            .map(|c| match c {
                '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
                c => c,
            })
            .collect();
        if base.starts_with('\'') {
            base.replace_range(..1, "_");
        }
        let base = cut(&base, MAX_UNITS);
        let mut base = base.to_owned();
        if base.ends_with('\'') {
            base.pop();
            base.push('_');
        }
        if base.is_empty() {
            base = format!("Sheet{}", self.taken.len() + 1);
        }
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.to_lowercase()) {
            let suffix = format!(" ({n})");
            name = format!("{}{suffix}", cut(&base, MAX_UNITS - suffix.len()));
            n += 1;
        }
        name
    }
}

/// `s` cut to at most `units` UTF-16 code units, on a character boundary.
fn cut(s: &str, units: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > units {
            return &s[..i];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_kept() {
        let mut names = SheetNames::default();
        for name in ["Sites", "Notes 2024", "ünïcödé 名前", "it's", "History"] {
            assert_eq!(names.writable(name), name);
        }
    }

    #[test]
    fn names_the_writer_refuses_are_made_valid() {
        let mut names = SheetNames::default();
        assert_eq!(names.writable("a[b]c:d*e?f/g\\h"), "a_b_c_d_e_f_g_h");
        assert_eq!(names.writable("'quoted'"), "_quoted_");
        assert_eq!(names.writable(""), "Sheet3");
        assert_eq!(
            names.writable("This name is longer than thirty-one characters"),
            "This name is longer than thirty"
        );
        assert_eq!(
            names
                .writable("🗺️".repeat(20).as_str())
                .encode_utf16()
                .count(),
            30
        );
    }

    #[test]
    fn a_name_used_twice_in_any_case_gets_a_number() {
        let mut names = SheetNames::default();
        assert_eq!(names.writable("Sheet1"), "Sheet1");
        assert_eq!(names.writable("sheet1"), "sheet1 (2)");
        assert_eq!(names.writable("SHEET1"), "SHEET1 (3)");
        assert_eq!(names.writable(&"x".repeat(40)), "x".repeat(31));
        assert_eq!(
            names.writable(&"X".repeat(40)),
            format!("{} (2)", "X".repeat(27))
        );
    }
}
