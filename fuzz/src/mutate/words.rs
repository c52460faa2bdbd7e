//! Values that sit on an edge of what the readers, the link parser or the writer
//! accept: odd cell references, numbers, sheet names, link shapes, header spellings.

use crate::rng::Rng;

/// Cell references: the grid's corners and just past them, overflowing numbers and
/// column letters, lower case, absolute, empty, negative, non-ASCII.
pub const CELL_REFS: &[&str] = &[
    "A1",
    "A0",
    "",
    "1",
    "A",
    "a1",
    "$A$1",
    "XFD1048576",
    "XFE1",
    "A1048577",
    "XFD1048577",
    "ZZZZZZZ2",
    "ZZZZZZZZZZZZZZZZZZZZZZZZ1",
    "A4294967295",
    "A4294967296",
    "A99999999999999999999999",
    "A-1",
    "A+1",
    "A1.5",
    "1A",
    "A 1",
    "Ä1",
    "A١",
    "AAA",
    "A1:B2",
    "R1C1",
];

/// Numbers as text: boundaries of integers and floats, non-numbers, odd spellings.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "255",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999999",
    "1e308",
    "1e309",
    "-1e309",
    "4.9e-324",
    "NaN",
    "inf",
    "-inf",
    "1.5",
    "0x10",
    "1,5",
    "",
    " ",
    "TRUE",
    "#N/A",
    "2958465",
    "2958466",
    "-693594",
    "60",
];

/// Sheet names Excel refuses or that a writer has to think about.
pub const SHEET_NAMES: &[&str] = &[
    "",
    " ",
    "Sheet1",
    "sheet1",
    "History",
    "'quoted'",
    "a[b]c",
    "a:b",
    "a*b?c",
    "a/b\\c",
    "This name is longer than thirty-one characters",
    "ünïcödé 名前",
    "&#1;control",
    "&lt;tag&gt;",
    "\u{1F5FA}",
];

/// Header spellings around the ones the job looks for.
pub const HEADERS: &[&str] = &[
    "Name",
    "name",
    " NAME ",
    "Region",
    "region ",
    "Maps",
    "Map link",
    "maps_link",
    "MAPLINK",
    "Map  link",
    "Maps\u{a0}link",
    "Lat",
    "Longitude",
    "lng",
    "latts",
    "Status",
    "",
    "=1+1",
    "Name.1",
    "Unnamed: 0",
];

/// A text a link column may hold: links of every shape the parser knows, with
/// numbers at and past the edges, and links that only the network tier could answer
/// (refused by the empty allow-list, never fetched).
pub fn link(rng: &mut Rng) -> String {
    let lat = coordinate(rng, 90.0);
    let lng = coordinate(rng, 180.0);
    match rng.below(16) {
        0 => format!("{lat},{lng}"),
        1 => format!("{lat}, {lng}"),
        2 => format!("https://maps.google.com/?q={lat},{lng}"),
        3 => format!("https://www.google.com/maps/@{lat},{lng},15z"),
        4 => format!("https://www.google.com/maps/place/X/@{lat},{lng},17z/data=!3d{lat}!4d{lng}"),
        5 => format!("geo:{lat},{lng}"),
        6 => format!("{lat}°S {lng}°E"),
        7 => format!("26°06'27.4\"S {}°03'24.1\"E", rng.below(400)),
        8 => format!("https://maps.app.goo.gl/{}", rng.next_u64()),
        9 => format!("https://goo.gl/maps/{}", rng.next_u64()),
        10 => "http://127.0.0.1:1/".to_owned(),
        11 => "https://user:secret@maps.google.com/?q=1,2".to_owned(),
        12 => format!(
            "https://maps.google.com/?ll={lat},{lng}&q={}",
            "%".repeat(rng.below(5))
        ),
        13 => format!("'{lat},{lng}"),
        14 => format!("=HYPERLINK(\"https://maps.google.com/?q={lat},{lng}\")"),
        _ => format!("{lat}{lng}"),
    }
}

/// A coordinate: usually in range, sometimes at the edge, past it, or not a number.
fn coordinate(rng: &mut Rng, max: f64) -> String {
    match rng.below(6) {
        0 => rng.pick(NUMBERS).to_string(),
        1 => format!("{max}"),
        2 => format!("-{}", max + 0.000_001),
        3 => "1".repeat(rng.size(9)),
        _ => {
            let unit = (rng.next_u64() % 2_000_001) as f64 / 1_000_000.0 - 1.0;
            format!("{:.6}", unit * max)
        }
    }
}
