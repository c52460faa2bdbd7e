//! Mutations of an .xlsx as what it is: a zip of XML parts. The file is unpacked, one
//! part's XML is changed (cell references, cell types, shared-string indexes, declared
//! counts, numbers, texts, sheet names, relationship targets, tags cut, repeated,
//! reordered or dropped), or the set of parts is (a part dropped, renamed, added); then
//! it is packed again with a random compression per part, and sometimes a field of the
//! zip's own headers or directory is damaged afterwards.

use std::io::{Cursor, Read, Write};

use zip::{CompressionMethod, ZipArchive, ZipWriter, write::SimpleFileOptions};

use super::{
    MAX_INPUT, bytes,
    words::{self, CELL_REFS, HEADERS, NUMBERS, SHEET_NAMES},
};
use crate::rng::Rng;

/// One part of the package.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub data: Vec<u8>,
}

/// The parts of a zip, or `None` if it does not unpack (or unpacks to far more than
/// an input may weigh).
pub fn unzip(bytes: &[u8]) -> Option<Vec<Part>> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut parts = Vec::with_capacity(archive.len().min(64));
    let mut total = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).ok()?;
        let name = entry.name().ok()?.into_owned();
        let mut data = Vec::new();
        entry
            .by_ref()
            .take(MAX_INPUT as u64 * 4)
            .read_to_end(&mut data)
            .ok()?;
        total += data.len();
        if total > MAX_INPUT * 4 {
            return None;
        }
        parts.push(Part { name, data });
    }
    Some(parts)
}

/// Packs `parts` again, each stored or deflated at a random level; a part the writer
/// refuses (a name already used) is left out.
pub fn zip(parts: &[Part], rng: &mut Rng) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for part in parts {
        let mut options = SimpleFileOptions::default();
        options = if rng.one_in(3) {
            options.compression_method(CompressionMethod::Stored)
        } else {
            options
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(rng.between(0, 9) as i64))
        };
        if rng.one_in(12) {
            options = options.large_file(true);
        }
        if w.start_file(part.name.as_str(), options).is_err() {
            continue;
        }
        if w.write_all(&part.data).is_err() {
            break;
        }
    }
    if rng.one_in(16) {
        let _ = w.set_comment("x".repeat(rng.size(10)));
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// Applies one structure-aware mutation to an .xlsx; `None` if it does not unpack.
pub fn mutate(file: &mut Vec<u8>, rng: &mut Rng) -> Option<String> {
    let mut parts = unzip(file)?;
    if parts.is_empty() {
        return None;
    }
    let mut step = if rng.one_in(6) {
        package(&mut parts, rng).to_owned()
    } else {
        let i = choose_part(&parts, rng);
        let other = parts[rng.below(parts.len())].data.clone();
        let what = xml(&mut parts[i].data, &other, rng);
        format!("xlsx: {}: {what}", parts[i].name)
    };
    let packed = zip(&parts, rng);
    if packed.len() > MAX_INPUT {
        return None;
    }
    *file = packed;
    if rng.one_in(8) {
        step.push_str(&format!("; {}", damage_zip(file, rng)));
    }
    Some(step)
}

/// Mostly the worksheet and the shared strings, where the cells are.
fn choose_part(parts: &[Part], rng: &mut Rng) -> usize {
    let find = |needle: &str| {
        parts
            .iter()
            .position(|p| p.name.to_ascii_lowercase().contains(needle))
    };
    let wanted = match rng.below(20) {
        0..=9 => find("worksheets/sheet"),
        10..=13 => find("sharedstrings"),
        14..=15 => find("workbook.xml"),
        16 => find(".rels"),
        17 => find("content_types"),
        _ => None,
    };
    wanted.unwrap_or_else(|| rng.below(parts.len()))
}

/// A change to the set of parts.
fn package(parts: &mut Vec<Part>, rng: &mut Rng) -> &'static str {
    let i = rng.below(parts.len());
    match rng.below(6) {
        0 => {
            parts.remove(i);
            "xlsx: dropped a part"
        }
        1 => {
            let name = &mut parts[i].name;
            *name = match rng.below(4) {
                0 => name.to_ascii_uppercase(),
                1 => name.replace("sheet1", "sheet2"),
                2 => format!("/{name}"),
                _ => name.replace('/', "\\"),
            };
            "xlsx: renamed a part"
        }
        2 => {
            let mut copy = parts[i].clone();
            copy.name = format!("{}x", copy.name);
            parts.push(copy);
            "xlsx: added a copy of a part"
        }
        3 => {
            // Compresses to almost nothing: unpacked size against the limits.
            let size = rng.size(23).min(MAX_INPUT * 4);
            parts.push(Part {
                name: "xl/media/big.bin".into(),
                data: vec![b'a'; size],
            });
            "xlsx: added a large, highly compressible part"
        }
        4 => {
            parts.reverse();
            "xlsx: reversed the order of the parts"
        }
        _ => {
            let name = *rng.pick(&[
                "xl/worksheets/sheet2.xml",
                "xl/sharedStrings.xml",
                "xl/styles.xml",
                "docProps/app.xml",
            ]);
            parts.push(Part {
                name: name.into(),
                data: b"<?xml version=\"1.0\"?><x>".to_vec(),
            });
            "xlsx: added a stray part"
        }
    }
}

/// Relationship targets: elsewhere in the package, outside it, nowhere.
const TARGETS: &[&str] = &[
    "worksheets/sheet1.xml",
    "/xl/worksheets/sheet1.xml",
    "worksheets/sheet9.xml",
    "../xl/worksheets/sheet1.xml",
    "../../../etc/passwd",
    "sharedStrings.xml",
    "workbook.xml",
    "",
    "http://127.0.0.1:1/x.xml",
    "worksheets/SHEET1.XML",
];

/// Pieces of XML a worksheet or string table may hold, and some it must not.
const SNIPPETS: &[&str] = &[
    r#"<row r="3"><c r="C3" t="inlineStr"><is><t>-26.1,28.05</t></is></c></row>"#,
    r#"<row r="2"><c r="A2" t="s"><v>999999</v></c></row>"#,
    r#"<c r="B2" t="s"><v>-1</v></c>"#,
    r#"<c r="XFD1048576"><v>1</v></c>"#,
    r#"<c r="A1" t="str"><f>A1</f><v>loop</v></c>"#,
    r#"<row><c><v>1</v></c><c><v>2</v></c></row>"#,
    r#"<row r="1"/>"#,
    r#"<dimension ref="A1:XFD1048576"/>"#,
    r#"<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>"#,
    r#"<si><r><t>Ma</t></r><r><rPr><b/></rPr><t>ps</t></r></si>"#,
    r#"<si><t xml:space="preserve">  </t><rPh sb="0" eb="1"><t>phonetic</t></rPh></si>"#,
    r#"<si/>"#,
    r#"<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>"#,
    "&a;&b;",
    "<![CDATA[<c r=\"A1\">]]>",
    "<!-- comment -->",
    "<?pi target?>",
    "&#0;&#x1;&#xD800;&#x110000;&#99999999999;",
    "&amp;&lt;&gt;&quot;&apos;&unknown;",
    "\u{FEFF}",
    "<x:c xmlns:x=\"urn:other\"/>",
    r#"<sheet name="Sheet1" sheetId="1" r:id="rId1"/>"#,
    r#"<sheet name="Extra" sheetId="99" r:id="rId99"/>"#,
    r#"<Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/>"#,
];

/// What a mutation that found nothing to change reports.
const NOTHING: &str = "nothing to change";

fn done(changed: bool, what: &'static str) -> &'static str {
    if changed { what } else { NOTHING }
}

const CELL_TYPES: &[&str] = &["s", "str", "inlineStr", "b", "e", "n", "d", "x", ""];

const DECLARATIONS: &[&[u8]] = &[
    b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    b"<?xml version=\"1.0\" encoding=\"bogus\"?>",
    b"<?xml version=\"2.0\"?>",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"",
];

/// Applies one mutation to a part's XML (as bytes: it may not stay valid UTF-8).
fn xml(data: &mut Vec<u8>, other: &[u8], rng: &mut Rng) -> &'static str {
    match rng.below(17) {
        0 => {
            let changed = set_attr(data, b" r=\"", rng, |rng| {
                if rng.one_in(3) {
                    rng.pick(NUMBERS).to_string()
                } else {
                    rng.pick(CELL_REFS).to_string()
                }
            });
            done(changed, "a cell or row reference")
        }
        1 => {
            let changed = set_attr(data, b" t=\"", rng, |rng| rng.pick(CELL_TYPES).to_string());
            done(changed, "a cell type")
        }
        2 => {
            let changed = set_between(data, b"<v>", b"</v>", rng, |rng| match rng.below(3) {
                0 => rng.below(64).to_string(),
                1 => rng.pick(NUMBERS).to_string(),
                _ => words::link(rng),
            });
            done(changed, "a cell value or string index")
        }
        3 => {
            let attr: &[u8] = if rng.one_in(2) {
                b"uniqueCount=\""
            } else {
                b"count=\""
            };
            let changed = set_attr(data, attr, rng, |rng| rng.pick(NUMBERS).to_string());
            done(changed, "a declared count")
        }
        4 => {
            let changed = set_attr(data, b"=\"", rng, |rng| rng.pick(NUMBERS).to_string());
            done(changed, "an attribute value")
        }
        5 => {
            let changed = set_between(data, b"<t>", b"</t>", rng, |rng| match rng.below(4) {
                0 => words::link(rng),
                1 => rng.pick(HEADERS).to_string(),
                2 => "é".repeat(rng.size(15)),
                _ => rng.pick(SNIPPETS).to_string(),
            });
            done(changed, "a text")
        }
        6 => {
            let at = rng.below(data.len() + 1);
            data.truncate(at);
            "cut the XML short"
        }
        7 => {
            let (start, end) = element_span(data, rng);
            let copies = if rng.one_in(5) { rng.size(12) } else { 1 };
            let room = MAX_INPUT.saturating_sub(data.len()) / (end - start).max(1);
            let piece = data[start..end].repeat(copies.min(room));
            data.splice(end..end, piece);
            "repeated a run of tags"
        }
        8 => {
            let (start, end) = element_span(data, rng);
            data.drain(start..end);
            "deleted a run of tags"
        }
        9 => {
            let at = tag_start(data, rng);
            bytes::insert(data, at, rng.pick(SNIPPETS).as_bytes());
            "inserted a snippet"
        }
        10 => {
            let changed = set_attr(data, b" name=\"", rng, |rng| {
                rng.pick(SHEET_NAMES).to_string()
            });
            done(changed, "a sheet name")
        }
        11 => {
            let changed = set_attr(data, b"Target=\"", rng, |rng| rng.pick(TARGETS).to_string());
            done(changed, "a relationship target")
        }
        12 => {
            let end = if data.starts_with(b"<?xml") {
                data.iter().position(|&b| b == b'>').map_or(0, |p| p + 1)
            } else {
                0
            };
            data.splice(0..end, rng.pick(DECLARATIONS).iter().copied());
            "the XML declaration or byte-order mark"
        }
        13 => done(swap_rows(data, rng), "swapped two rows"),
        14 => {
            let (from, to) = *rng.pick(&[
                (&b"<c "[..], &b"<x "[..]),
                (b"</row>", b""),
                (b"</sheetData>", b""),
                (b"<sheetData>", b"<sheetData><sheetData>"),
                (b"<si>", b"<si><si>"),
                (b"</c>", b"</c></c>"),
                (b"<is>", b""),
                (b"xmlns=", b"xmlns:x="),
                // Spellings the XML reader accepts and a text search may not.
                (b"uniqueCount=", b"uniqueCount = "),
                (b"<sst ", b"<x:sst xmlns:x=\"urn:x\" "),
                (b"<worksheet ", b"<x:worksheet xmlns:x=\"urn:x\" "),
                (b"xmlns=\"", b"xmlns=\">"),
                (b"?>", b"?><!-- a comment before the root tag -->"),
            ]);
            let hits = find_all(data, from);
            if hits.is_empty() {
                return NOTHING;
            }
            let at = *rng.pick(&hits);
            data.splice(at..at + from.len(), to.iter().copied());
            "renamed or unbalanced a tag"
        }
        15 => {
            let donor = if rng.one_in(2) { other } else { &[] };
            bytes::mutate(data, donor, rng)
        }
        _ => {
            let at = tag_start(data, rng);
            let text = match rng.below(3) {
                0 => "<".repeat(rng.size(10)),
                1 => "<a>".repeat(rng.size(12)),
                _ => format!("<c r=\"A1\"{}>", " x=\"1\"".repeat(rng.size(10))),
            };
            bytes::insert(data, at, text.as_bytes());
            "inserted deep or odd markup"
        }
    }
}

/// Replaces the value of one random `attr"…"` occurrence; false if there is none.
fn set_attr(
    data: &mut Vec<u8>,
    attr: &[u8],
    rng: &mut Rng,
    value: impl FnOnce(&mut Rng) -> String,
) -> bool {
    set_between(data, attr, b"\"", rng, value)
}

/// Replaces the bytes between one random `open` and the next `close`.
fn set_between(
    data: &mut Vec<u8>,
    open: &[u8],
    close: &[u8],
    rng: &mut Rng,
    value: impl FnOnce(&mut Rng) -> String,
) -> bool {
    let hits = find_all(data, open);
    if hits.is_empty() {
        return false;
    }
    let start = rng.pick(&hits) + open.len();
    let Some(len) = find(&data[start..], close) else {
        return false;
    };
    let value = value(rng);
    if data.len() - len + value.len() > MAX_INPUT {
        return false;
    }
    data.splice(start..start + len, value.into_bytes());
    true
}

/// `(start, end)` of each `open`…`close` element that does not overlap the one
/// before it.
fn spans(data: &[u8], open: &[u8], close: &[u8]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for start in find_all(data, open) {
        if out.last().is_some_and(|last| start < last.1) {
            continue;
        }
        if let Some(len) = find(&data[start..], close) {
            out.push((start, start + len + close.len()));
        }
    }
    out
}

/// Swaps two whole `<row>` elements: rows out of order, as some writers list them.
fn swap_rows(data: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let rows = spans(data, b"<row", b"</row>");
    let (a, b) = (rng.below(rows.len()), rng.below(rows.len()));
    if a == b {
        return false;
    }
    let (first, second) = (rows[a.min(b)], rows[a.max(b)]);
    let mut out = data[..first.0].to_vec();
    out.extend_from_slice(&data[second.0..second.1]);
    out.extend_from_slice(&data[first.1..second.0]);
    out.extend_from_slice(&data[first.0..first.1]);
    out.extend_from_slice(&data[second.1..]);
    *data = out;
    true
}

/// A random position where a tag starts (or anywhere, if there are no tags).
fn tag_start(data: &[u8], rng: &mut Rng) -> usize {
    let tags = find_all(data, b"<");
    if tags.is_empty() {
        rng.below(data.len() + 1)
    } else {
        *rng.pick(&tags)
    }
}

/// From a tag's start to a later tag's end, within a few KiB.
fn element_span(data: &[u8], rng: &mut Rng) -> (usize, usize) {
    let start = tag_start(data, rng).min(data.len());
    let window = &data[start..(start + rng.size(12)).min(data.len())];
    let ends: Vec<usize> = window
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'>')
        .map(|(i, _)| start + i + 1)
        .collect();
    let end = if ends.is_empty() {
        start + window.len()
    } else {
        *rng.pick(&ends)
    };
    (start, end)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Damages one field of the zip's structure: the end-of-directory record (entry
/// counts, directory size and offset, comment length), a directory entry or a local
/// header (method, checksum, sizes, name and extra lengths, offset), or adds bytes
/// before the archive or a second end record.
pub fn damage_zip(file: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    const EOCD: &[u8] = b"PK\x05\x06";
    const CENTRAL: &[u8] = b"PK\x01\x02";
    const LOCAL: &[u8] = b"PK\x03\x04";
    let (signature, fields): (&[u8], &[(usize, usize)]) = match rng.below(5) {
        0 => (
            EOCD,
            &[(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)],
        ),
        1 | 2 => (
            CENTRAL,
            &[
                (8, 2),
                (10, 2),
                (16, 4),
                (20, 4),
                (24, 4),
                (28, 2),
                (30, 2),
                (32, 2),
                (42, 4),
            ],
        ),
        3 => (
            LOCAL,
            &[(6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)],
        ),
        _ => {
            if rng.one_in(2) {
                let junk: Vec<u8> = (0..rng.size(8)).map(|_| rng.byte()).collect();
                bytes::insert(file, 0, &junk);
                return "bytes before the archive";
            }
            if let Some(at) = rfind(file, EOCD) {
                let record = file[at..].to_vec();
                bytes::insert(file, file.len(), &record);
            }
            return "a second end-of-directory record";
        }
    };
    let hits = find_all(file, signature);
    if hits.is_empty() {
        return NOTHING;
    }
    let at = *rng.pick(&hits);
    let (offset, width) = *rng.pick(fields);
    let value: u64 = match rng.below(4) {
        0 => 0,
        1 => u64::MAX,
        2 => rng.next_u64(),
        _ => {
            let old = file.get(at + offset..at + offset + width).map_or(0, |b| {
                b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x))
            });
            old.wrapping_add(rng.between(1, 3) as u64).wrapping_sub(2)
        }
    };
    let end = (at + offset + width).min(file.len());
    if at + offset < end {
        let le = value.to_le_bytes();
        file[at + offset..end].copy_from_slice(&le[..end - at - offset]);
    }
    "a damaged zip header field"
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_unpacks_and_packs_again_unchanged_in_content() {
        let seed = maplink_tests::sheets::xlsx(&[vec!["Name", "Region", "Maps"]]);
        let parts = unzip(&seed).expect("the seed unpacks");
        assert!(parts.iter().any(|p| p.name == "xl/worksheets/sheet1.xml"));
        let again = unzip(&zip(&parts, &mut Rng::for_case(1, 1))).expect("repacked");
        assert_eq!(
            again.iter().map(|p| &p.data).collect::<Vec<_>>(),
            parts.iter().map(|p| &p.data).collect::<Vec<_>>()
        );
    }

    #[test]
    fn an_attribute_value_is_replaced_in_place() {
        let mut data = br#"<c r="A1" t="s"><v>0</v></c>"#.to_vec();
        assert!(set_attr(
            &mut data,
            b" r=\"",
            &mut Rng::for_case(1, 1),
            |_| { "XFE1".into() }
        ));
        assert_eq!(data, br#"<c r="XFE1" t="s"><v>0</v></c>"#);
    }

    #[test]
    fn two_rows_are_swapped_whole() {
        let mut data = br#"<sheetData><row r="1">a</row><row r="2">b</row></sheetData>"#.to_vec();
        assert!(
            swap_rows(&mut data, &mut Rng::for_case(1, 2))
                || swap_rows(&mut data, &mut Rng::for_case(1, 3))
        );
        assert_eq!(
            data,
            br#"<sheetData><row r="2">b</row><row r="1">a</row></sheetData>"#
        );
    }
}
