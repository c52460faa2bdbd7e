//! The seed corpus every input is mutated from — real files of both formats: the
//! worked example, workbooks written by a spreadsheet library (several sheets, every
//! cell type), the hostile uploads at small sizes (each already reaches a limit or an
//! edge of the format) — and the regression files under `tests/fixtures/fuzz/`, one per
//! past finding, which are run as they are but not mutated: a new finding added there
//! leaves every case number of a seed meaning the same input.
//!
//! The hostile uploads are built smaller than in `hostile::all()`: a mutation of a
//! small file reaches the same code, and thousands of them fit in a CI minute.
//!
//! Every seed is the same bytes on every run (the library-written workbooks get a fixed
//! creation time instead of "now"), so that a case number names one input for good.

use std::path::Path;

use maplink::domain::FileFormat;
use maplink_tests::{hostile, sheets};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Formula, Workbook, XlsxError};

/// One file of the corpus.
#[derive(Clone, Debug)]
pub struct Seed {
    pub name: String,
    pub format: FileFormat,
    pub bytes: Vec<u8>,
}

impl Seed {
    fn new(name: &str, format: FileFormat, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            format,
            bytes,
        }
    }
}

/// The seeds inputs are mutated from.
pub fn seeds() -> Vec<Seed> {
    let mut seeds = vec![
        Seed::new(
            "seed_example.csv",
            FileFormat::Csv,
            sheets::SEED_EXAMPLE_CSV.to_vec(),
        ),
        Seed::new("seed_example.xlsx", FileFormat::Xlsx, seed_example_xlsx()),
        Seed::new("typed.xlsx", FileFormat::Xlsx, typed_workbook()),
        Seed::new("shared_strings.xlsx", FileFormat::Xlsx, shared_strings()),
        Seed::new(
            "semicolons.csv",
            FileFormat::Csv,
            b"\xEF\xBB\xBFName;Region;Map link\nA;B;\"-26.1;28.05\"\n\"Quoted\n\"\"Store\"\"\";Gauteng;https://maps.google.com/?q=-26.2,28.04\n"
                .to_vec(),
        ),
        Seed::new(
            "tabs.csv",
            FileFormat::Csv,
            b"name\tREGION\tMaps\r\nA\tB\tgeo:-33.9,18.4\r\n\t\t\r\nC\tD\thttps://www.google.com/maps/@-29.85,31.02,15z\r\n"
                .to_vec(),
        ),
    ];
    let small_attacks = [
        hostile::far_column(),
        hostile::far_row(),
        hostile::high_first_row(),
        hostile::wide(20),
        hostile::duplicate_headers(100),
        hostile::many_rows(500),
        hostile::long_names(10, 10),
        hostile::shared_string_fanout(50, 100),
        hostile::huge_string_count(),
        hostile::dense(10, 10),
    ];
    for attack in small_attacks {
        let format = FileFormat::from_filename(attack.filename).unwrap_or(FileFormat::Xlsx);
        seeds.push(Seed::new(attack.filename, format, attack.bytes));
    }
    seeds
}

/// The .xlsx and .csv files of `dir`, by name; none if it does not exist.
pub fn files(dir: &Path) -> std::io::Result<Vec<Seed>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(format) = FileFormat::from_filename(&name) {
            files.push(Seed::new(&name, format, std::fs::read(&path)?));
        }
    }
    Ok(files)
}

/// A workbook that is the same bytes on every run: its creation time is fixed.
fn workbook() -> Result<Workbook, XlsxError> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 1, 1)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    Ok(book)
}

/// The worked example as an .xlsx (as `sheets::seed_example_xlsx`, at a fixed time).
fn seed_example_xlsx() -> Vec<u8> {
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut book = workbook()?;
        let ws = book.add_worksheet();
        ws.set_name("Sites")?;
        for (r, row) in sheets::csv_rows(sheets::SEED_EXAMPLE_CSV)
            .iter()
            .enumerate()
        {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    ws.write_string(r as u32, c as u16, cell)?;
                }
            }
        }
        book.save_to_buffer()
    };
    build().expect("the worked example is a valid workbook")
}

/// Two sheets with every kind of cell a job meets: text, numbers, booleans, dates,
/// formulas, blanks, a link column with parseable, online-only and broken links.
fn typed_workbook() -> Vec<u8> {
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut book = workbook()?;
        let ws = book.add_worksheet();
        ws.set_name("Sites")?;
        for (c, h) in ["Name", "Region", "Maps", "Count", "Open", "Since", "Sum"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h)?;
        }
        let links = [
            "-26.1076,28.0567",
            "https://maps.google.com/?q=-33.92,18.42",
            "https://maps.app.goo.gl/abc123",
            "https://www.google.com/maps/place/X/@-29.85,31.02,17z",
            "not a link",
            "",
        ];
        for (i, link) in links.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, format!("Site {i} — ünïcode"))?;
            ws.write_string(r, 1, "Gauteng")?;
            if !link.is_empty() {
                ws.write_string(r, 2, *link)?;
            }
            ws.write_number(r, 3, i as f64 * 1.5)?;
            ws.write_boolean(r, 4, i % 2 == 0)?;
            ws.write_datetime(r, 5, ExcelDateTime::from_ymd(2024, 1, 1 + i as u8)?)?;
            ws.write_formula(r, 6, Formula::new(format!("=D{}*2", r + 1)))?;
        }
        let other = book.add_worksheet();
        other.set_name("Notes")?;
        other.write_string(0, 0, "carried through unchanged")?;
        other.write_number(3, 2, 42.0)?;
        book.save_to_buffer()
    };
    build().expect("the typed workbook is valid")
}

/// A workbook whose text cells are shared strings (as Excel writes them), with an
/// inline string, a formula, a boolean, an error and a date among them.
fn shared_strings() -> Vec<u8> {
    let data = concat!(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>"#,
        r#"<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c></row>"#,
        r#"<row r="3" spans="1:3"><c r="A3" t="inlineStr"><is><t>Inline</t></is></c><c r="B3" t="str"><f>A3</f><v>Inline</v></c><c r="C3"><v>-26.5</v></c><c r="D3" t="b"><v>1</v></c><c r="E3" t="e"><v>#DIV/0!</v></c></row>"#,
        r#"<row r="5"><c r="A5" t="s"><v>3</v></c><c r="C5" t="d"><v>2024-02-29T12:00:00</v></c></row>"#,
    );
    hostile::raw_xlsx(
        data,
        &[
            "Name",
            "Region",
            "Map link",
            "Store &amp; Co",
            "Gauteng",
            "https://maps.google.com/?q=-26.1,28.05",
        ],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_written_seeds_carry_a_fixed_time_not_the_clock() {
        for seed in seeds()
            .iter()
            .filter(|s| s.name == "seed_example.xlsx" || s.name == "typed.xlsx")
        {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&seed.bytes)).unwrap();
            let mut core = String::new();
            std::io::Read::read_to_string(
                &mut zip.by_name("docProps/core.xml").unwrap(),
                &mut core,
            )
            .unwrap();
            assert!(
                core.contains("2024-01-01T00:00:00Z"),
                "{}: {core}",
                seed.name
            );
        }
    }

    #[test]
    fn every_built_in_seed_is_a_file_of_its_format() {
        for seed in seeds() {
            let is_zip = seed.bytes.starts_with(b"PK\x03\x04");
            assert_eq!(
                is_zip,
                seed.format == FileFormat::Xlsx,
                "{} is not what its name says",
                seed.name
            );
            assert!(seed.bytes.len() < 256 * 1024, "{} is small", seed.name);
        }
    }
}
