//! Hostile uploads: small files that ask the service for far more than they weigh.
//! Each one reproduces a finding of an attack on the upload path; the integration
//! tests, the `hostile` benchmark and the fuzzer's seed corpus all use them.
//!
//! The workbooks are written as raw XML parts in a zip, not through a spreadsheet
//! library, because a library would refuse to write most of them.

use std::io::Write;

/// One attack: a file name (its extension picks the format) and the bytes.
#[derive(Clone, Debug)]
pub struct Attack {
    pub name: &'static str,
    pub what: &'static str,
    pub filename: &'static str,
    pub bytes: Vec<u8>,
}

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An .xlsx of one sheet whose `<sheetData>` is `sheet_data`, with `shared` as its
/// shared-string table (`uniqueCount` as given, or the real count).
pub fn raw_xlsx(sheet_data: &str, shared: &[&str], unique_count: Option<&str>) -> Vec<u8> {
    let shared_xml = {
        let count = unique_count.map_or_else(|| shared.len().to_string(), str::to_owned);
        let items: String = shared
            .iter()
            .map(|s| format!("<si><t>{s}</t></si>"))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN_NS}" count="{count}" uniqueCount="{count}">{items}</sst>"#
        )
    };
    let parts: Vec<(&str, String)> = vec![
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.to_owned(),
        ),
        (
            "_rels/.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}"><sheetData>{sheet_data}</sheetData></worksheet>"#
            ),
        ),
        ("xl/sharedStrings.xml", shared_xml),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

/// An inline-string cell.
pub fn text_cell(reference: &str, text: &str) -> String {
    format!(r#"<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// Row 1: the columns a job needs.
pub fn header_row() -> String {
    format!(
        r#"<row r="1">{}{}{}</row>"#,
        text_cell("A1", "Name"),
        text_cell("B1", "Region"),
        text_cell("C1", "Maps")
    )
}

/// A data row with a parseable link.
pub fn data_row(row: u32) -> String {
    format!(
        r#"<row r="{row}">{}{}{}</row>"#,
        text_cell(&format!("A{row}"), "Store"),
        text_cell(&format!("B{row}"), "Gauteng"),
        text_cell(&format!("C{row}"), "-26.1,28.05")
    )
}

/// The name of column `index` (0-based): 0 → `A`, 16383 → `XFD`.
pub fn column_name(index: u32) -> String {
    let mut n = index + 1;
    let mut name = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        name.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII")
}

/// The only data cell sits at `ZZZZZZZ2`: a column no sheet has (8 billion), which
/// overflows the reader's arithmetic.
pub fn far_column() -> Attack {
    Attack {
        name: "far_column",
        what: "one cell at ZZZZZZZ2",
        filename: "far_column.xlsx",
        bytes: raw_xlsx(
            &format!(
                r#"{}<row r="2">{}</row>"#,
                header_row(),
                text_cell("ZZZZZZZ2", "x")
            ),
            &[],
            None,
        ),
    }
}

/// A cell at row 4,000,000,000, below the header.
pub fn far_row() -> Attack {
    Attack {
        name: "far_row",
        what: "one cell at A4000000000",
        filename: "far_row.xlsx",
        bytes: raw_xlsx(
            &format!(
                r#"{}<row r="4000000000">{}</row>"#,
                header_row(),
                text_cell("A4000000000", "x")
            ),
            &[],
            None,
        ),
    }
}

/// The first row listed is row 4,000,000,000; the header comes after it.
pub fn high_first_row() -> Attack {
    Attack {
        name: "high_first_row",
        what: "row 4,000,000,000 listed before the header",
        filename: "high_first_row.xlsx",
        bytes: raw_xlsx(
            &format!(
                r#"<row r="4000000000">{}</row>{}"#,
                text_cell("A4000000000", "x"),
                header_row()
            ),
            &[],
            None,
        ),
    }
}

/// `rows` data rows, each with one value in the last column an .xlsx has (`XFD`).
pub fn wide(rows: u32) -> Attack {
    let mut data = header_row();
    for r in 2..rows + 2 {
        data.push_str(&format!(
            r#"<row r="{r}">{}</row>"#,
            text_cell(&format!("XFD{r}"), "x")
        ));
    }
    Attack {
        name: "wide",
        what: "a value in column XFD on every row",
        filename: "wide.xlsx",
        bytes: raw_xlsx(&data, &[], None),
    }
}

/// A CSV whose header repeats one name `copies` times after the needed columns.
pub fn duplicate_headers(copies: usize) -> Attack {
    let mut csv = String::from("Name,Region,Maps");
    for _ in 0..copies {
        csv.push_str(",x");
    }
    csv.push_str("\nStore,Gauteng,\"-26.1,28.05\"\n");
    Attack {
        name: "duplicate_headers",
        what: "4,000 copies of one header",
        filename: "duplicate_headers.csv",
        bytes: csv.into_bytes(),
    }
}

/// A CSV of `rows` one-character rows.
pub fn many_rows(rows: usize) -> Attack {
    let mut csv = String::with_capacity(rows * 2 + 20);
    csv.push_str("Name,Region,Maps\n");
    for _ in 0..rows {
        csv.push_str("a\n");
    }
    Attack {
        name: "many_rows",
        what: "millions of one-character rows",
        filename: "many_rows.csv",
        bytes: csv.into_bytes(),
    }
}

/// A CSV `columns` wide with long column names and `rows` rows of one-character
/// cells: every row of an inline answer repeats every name.
pub fn long_names(columns: usize, rows: usize) -> Attack {
    let mut csv = String::from("Name,Region,Maps");
    for i in 0..columns {
        csv.push_str(&format!(",{i}{}", "n".repeat(200)));
    }
    csv.push('\n');
    let row = format!("Store,Gauteng,\"-26.1,28.05\"{}\n", ",y".repeat(columns));
    for _ in 0..rows {
        csv.push_str(&row);
    }
    Attack {
        name: "long_names",
        what: "wide rows under long column names",
        filename: "long_names.csv",
        bytes: csv.into_bytes(),
    }
}

/// `cells` cells that all refer to one shared string of `chars` characters: stored
/// once, held once per cell.
pub fn shared_string_fanout(cells: u32, chars: usize) -> Attack {
    let long = "s".repeat(chars);
    let mut data = header_row();
    for r in 2..cells + 2 {
        data.push_str(&format!(
            r#"<row r="{r}"><c r="D{r}" t="s"><v>0</v></c></row>"#
        ));
    }
    Attack {
        name: "shared_string_fanout",
        what: "one long shared string in every row",
        filename: "shared_string_fanout.xlsx",
        bytes: raw_xlsx(&data, &[&long], None),
    }
}

/// `count` one-letter shared strings: a table that compresses to almost nothing and
/// costs about 56 bytes per string once read.
pub fn tiny_shared_strings(count: usize) -> Attack {
    let strings = vec!["a"; count];
    Attack {
        name: "tiny_shared_strings",
        what: "millions of one-letter shared strings",
        filename: "tiny_shared_strings.xlsx",
        bytes: raw_xlsx(&header_row(), &strings, None),
    }
}

/// A shared-string table that declares 99,999,999,999 strings and holds one.
pub fn huge_string_count() -> Attack {
    Attack {
        name: "huge_string_count",
        what: "uniqueCount=99999999999",
        filename: "huge_string_count.xlsx",
        bytes: raw_xlsx(&header_row(), &["a"], Some("99999999999")),
    }
}

/// `rows` × `columns` one-character cells: a dense sheet, small once compressed.
pub fn dense(rows: u32, columns: u32) -> Attack {
    let mut data = header_row();
    for r in 2..rows + 2 {
        data.push_str(&format!(r#"<row r="{r}">"#));
        for c in 0..columns {
            data.push_str(&format!(r#"<c r="{}{r}"><v>1</v></c>"#, column_name(c)));
        }
        data.push_str("</row>");
    }
    Attack {
        name: "dense",
        what: "a dense grid of numbers",
        filename: "dense.xlsx",
        bytes: raw_xlsx(&data, &[], None),
    }
}

/// Every attack at the size that hurt the service before the limits.
pub fn all() -> Vec<Attack> {
    vec![
        far_column(),
        far_row(),
        high_first_row(),
        wide(200),
        duplicate_headers(4_000),
        many_rows(8_300_000),
        long_names(1_000, 1_000),
        shared_string_fanout(200_000, 32_000),
        huge_string_count(),
        tiny_shared_strings(15_000_000),
        dense(1_000, 1_000),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_follow_the_spreadsheet_alphabet() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16_383), "XFD");
    }
}
