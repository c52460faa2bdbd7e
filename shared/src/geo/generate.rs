//! Rebuilds `data/boundaries.bin` from its sources (see `data/README.md`). Not part of
//! the normal test run: it needs two files from Debian packages and rewrites a file in
//! the source tree.
//!
//! ```text
//! cargo test -p maplink geo::generate -- --ignored --nocapture
//! ```
//!
//! - Polygons and names: QGIS's `world_map.gpkg`, layer `states_provinces` (Natural
//!   Earth 1:10m admin-1 v4.1.0, simplified by the QGIS project; public domain).
//!   `MAPLINK_GEO_GPKG` overrides its path.
//! - ISO codes: Debian's iso-codes JSON (`iso_3166-1.json`, `iso_3166-2.json`). Only
//!   codes are taken from it — alpha-3 per alpha-2, and the ISO 3166-2 code of each
//!   Natural Earth subdivision, found by comparing names. `MAPLINK_GEO_ISO_CODES`
//!   overrides the folder.
//!
//! A subdivision whose name matches no ISO 3166-2 entry of its country keeps its
//! polygons as part of the country but gets no code or name of its own: the check
//! then knows it only as its country. The run prints the unmatched ones.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use sqlx::{Connection, Row};

use super::format::{UNITS_PER_DEGREE, Writer};
use super::key::{designator_stripped, key};

const DEFAULT_GPKG: &str = "/usr/share/qgis/resources/data/world_map.gpkg";
const DEFAULT_ISO_CODES: &str = "/usr/share/iso-codes/json";

/// Natural Earth areas without an ISO 3166-1 code of their own (`iso_a2` = -1), by
/// `adm0_a3`, and the country they are counted in. The rest (Spratly Islands) stay
/// out.
const NO_ISO_CODE: &[(&str, &str)] = &[
    ("SOL", "SO"), // Somaliland
    ("CYN", "CY"), // Northern Cyprus
    ("ESB", "GB"), // Dhekelia Sovereign Base Area
    ("WSB", "GB"), // Akrotiri Sovereign Base Area
    ("KAB", "KZ"), // Baikonur Cosmodrome
    ("KAS", "IN"), // Siachen Glacier
    ("USG", "CU"), // Guantanamo Bay
    ("CLP", "FR"), // Clipperton Island
    ("IOA", "AU"), // Indian Ocean Territories
];

struct Feature {
    alpha2: String,
    admin: String,
    adm0_a3: String,
    names: Vec<String>,
    polygons: Vec<Vec<Vec<[i32; 2]>>>,
}

struct IsoSubdivision {
    code: String,
    keys: Vec<String>,
    has_parent: bool,
}

#[test]
#[ignore = "rebuilds the embedded boundary data from files outside the repository"]
fn regenerate_boundary_data() {
    let gpkg = std::env::var("MAPLINK_GEO_GPKG").unwrap_or_else(|_| DEFAULT_GPKG.to_owned());
    let iso_dir =
        std::env::var("MAPLINK_GEO_ISO_CODES").unwrap_or_else(|_| DEFAULT_ISO_CODES.to_owned());
    assert!(
        std::path::Path::new(&gpkg).exists(),
        "{gpkg} not found: install Debian's qgis-common (or unpack it with `apt-get \
         download qgis-common && dpkg-deb -x`) and set MAPLINK_GEO_GPKG"
    );
    let features = read_features(&gpkg);
    let (alpha3, iso_subdivisions) = read_iso_codes(&iso_dir);

    // Countries: every alpha-2 with polygons, named by its main Natural Earth entry
    // (the one whose adm0_a3 is the ISO alpha-3), other entries' names as aliases.
    let mut countries: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for f in &features {
        let a3 = alpha3.get(&f.alpha2).cloned().unwrap_or_default();
        let entry = countries.entry(f.alpha2.clone()).or_default();
        if f.adm0_a3 == a3 || entry.0.is_empty() {
            if !entry.0.is_empty() && entry.0 != f.admin {
                entry.1.push(std::mem::take(&mut entry.0));
            }
            entry.0 = f.admin.clone();
        } else {
            entry.1.push(f.admin.clone());
        }
    }
    for (name, aliases) in countries.values_mut() {
        aliases.retain(|a| key(a) != key(name));
        dedup_by_key(aliases);
    }
    let country_index: HashMap<&str, usize> = countries
        .keys()
        .enumerate()
        .map(|(i, a2)| (a2.as_str(), i))
        .collect();

    // Subdivisions: each feature's ISO 3166-2 code by name, within its country.
    let codes = match_codes(&features, &iso_subdivisions);
    let mut subdivisions: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (f, code) in features.iter().zip(&codes) {
        let Some(code) = code else { continue };
        let entry = subdivisions.entry(code.clone()).or_default();
        let mut names = f.names.iter();
        if entry.0.is_empty()
            && let Some(first) = names.next()
        {
            entry.0 = first.clone();
        }
        entry.1.extend(names.cloned());
    }
    for (name, aliases) in subdivisions.values_mut() {
        aliases.retain(|a| key(a) != key(name));
        dedup_by_key(aliases);
    }
    let subdivision_index: HashMap<&str, usize> = subdivisions
        .keys()
        .enumerate()
        .map(|(i, code)| (code.as_str(), i))
        .collect();

    let mut w = Writer::new();
    w.count(countries.len());
    for (a2, (name, aliases)) in &countries {
        w.string(a2);
        w.string(alpha3.get(a2).map_or("", String::as_str));
        w.string(name);
        w.strings(aliases);
    }
    w.count(subdivisions.len());
    for (code, (name, aliases)) in &subdivisions {
        w.count(country_index[&code[..2]]);
        w.string(code);
        w.string(name);
        w.strings(aliases);
    }
    let polygons: Vec<_> = features
        .iter()
        .zip(&codes)
        .flat_map(|(f, code)| f.polygons.iter().map(move |p| (f, code, p)))
        .collect();
    w.count(polygons.len());
    let mut vertex_count = 0;
    for (f, code, rings) in polygons {
        w.count(country_index[f.alpha2.as_str()]);
        w.count(
            code.as_ref()
                .map_or(0, |c| subdivision_index[c.as_str()] + 1),
        );
        w.count(rings.len());
        let (mut x, mut y) = (0, 0);
        for ring in rings {
            w.count(ring.len());
            for &[vx, vy] in ring {
                w.signed(vx - x);
                w.signed(vy - y);
                (x, y) = (vx, vy);
            }
            vertex_count += ring.len();
        }
    }

    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&w.bytes).unwrap();
    let deflated = encoder.finish().unwrap();
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/src/geo/data/boundaries.bin");
    std::fs::write(out, &deflated).unwrap();
    let matched = codes.iter().filter(|c| c.is_some()).count();
    println!(
        "{} countries, {} subdivisions ({matched} of {} Natural Earth areas matched), \
         {vertex_count} vertices, {} bytes, {} deflated",
        countries.len(),
        subdivisions.len(),
        features.len(),
        w.bytes.len(),
        deflated.len()
    );
}

fn dedup_by_key(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|s| !key(s).is_empty() && seen.insert(key(s)));
}

/// The ISO 3166-2 code of each feature, or `None`. The feature's names are tried in
/// order (its own name first: `woe_name` is sometimes the region above it, as with
/// Spain's provinces). A name matches an ISO entry of the feature's country whose name
/// has the same key, with or without designator words (`Province of the Western Cape`,
/// `Stockholms län`). When no name does, a key that starts the other (`Murmansk` /
/// `Murmanskaya oblast'`) matches, the shorter having at least five letters. Where
/// several entries match, a top-level one (no parent) wins; otherwise the name is
/// ambiguous and the next is tried.
fn match_codes(
    features: &[Feature],
    iso: &HashMap<String, Vec<IsoSubdivision>>,
) -> Vec<Option<String>> {
    features
        .iter()
        .map(|f| {
            let entries = iso.get(&f.alpha2)?;
            for rule in [Rule::Exact, Rule::Prefix] {
                for name in &f.names {
                    let keys = name_keys(name);
                    let found: Vec<&IsoSubdivision> = entries
                        .iter()
                        .filter(|e| {
                            e.keys
                                .iter()
                                .any(|ek| keys.iter().any(|k| rule.matches(k, ek)))
                        })
                        .collect();
                    let top: Vec<&&IsoSubdivision> =
                        found.iter().filter(|e| !e.has_parent).collect();
                    let chosen: &IsoSubdivision = if let [only] = found.as_slice() {
                        only
                    } else if let [only] = top.as_slice() {
                        only
                    } else {
                        continue;
                    };
                    if rule == Rule::Prefix {
                        println!("by prefix: {} {:?} -> {}", f.alpha2, f.names, chosen.code);
                    }
                    return Some(chosen.code.clone());
                }
            }
            println!("unmatched: {} {:?}", f.alpha2, f.names);
            None
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Exact,
    Prefix,
}

impl Rule {
    fn matches(self, k: &str, ek: &str) -> bool {
        match self {
            Self::Exact => k == ek,
            Self::Prefix => {
                let (short, long) = if k.len() <= ek.len() {
                    (k, ek)
                } else {
                    (ek, k)
                };
                short.len() >= 5 && long.starts_with(short)
            }
        }
    }
}

/// A name's keys: in full and without designator words; ISO names also without a
/// bracketed other-language form (`Cardiff [Caerdydd GB-CRF]`) and split at `/`.
fn name_keys(name: &str) -> Vec<String> {
    let plain = match name.find('[') {
        Some(i) => name[..i].trim(),
        None => name,
    };
    let mut keys = Vec::new();
    for part in std::iter::once(plain).chain(plain.split('/').map(str::trim)) {
        keys.push(key(part));
        keys.extend(designator_stripped(part));
    }
    keys.retain(|k| !k.is_empty());
    keys.sort();
    keys.dedup();
    keys
}

fn read_iso_codes(
    dir: &str,
) -> (
    HashMap<String, String>,
    HashMap<String, Vec<IsoSubdivision>>,
) {
    let read = |file: &str, list: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::from_value(json[list].take()).unwrap()
    };
    let field = |e: &serde_json::Value, name: &str| e[name].as_str().unwrap_or_default().to_owned();
    let alpha3 = read("iso_3166-1.json", "3166-1")
        .iter()
        .map(|e| (field(e, "alpha_2"), field(e, "alpha_3")))
        .collect();
    let mut subdivisions: HashMap<String, Vec<IsoSubdivision>> = HashMap::new();
    for e in read("iso_3166-2.json", "3166-2") {
        let code = field(&e, "code");
        subdivisions
            .entry(code[..2].to_owned())
            .or_default()
            .push(IsoSubdivision {
                keys: name_keys(&field(&e, "name")),
                has_parent: e.get("parent").is_some(),
                code,
            });
    }
    (alpha3, subdivisions)
}

fn read_features(path: &str) -> Vec<Feature> {
    let rows = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::query(
                "SELECT iso_a2, name, woe_name, woe_label, gn_name, admin, adm0_a3, geom \
                 FROM states_provinces ORDER BY fid",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
        });
    let text = |row: &sqlx::sqlite::SqliteRow, column: &str| -> String {
        row.try_get::<Option<String>, _>(column)
            .unwrap()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let mut features = Vec::new();
    for row in &rows {
        let adm0_a3 = text(row, "adm0_a3");
        let mut alpha2 = text(row, "iso_a2");
        if alpha2.len() != 2 {
            match NO_ISO_CODE.iter().find(|(a3, _)| *a3 == adm0_a3) {
                Some((_, a2)) => alpha2 = (*a2).to_owned(),
                None => {
                    println!("skipped: {} ({adm0_a3})", text(row, "admin"));
                    continue;
                }
            }
        }
        // woe_label is "<English name>, <alpha-2>, <country>"; some are mis-encoded.
        let woe_label = text(row, "woe_label");
        let english = woe_label.split(',').next().unwrap_or_default();
        let mis_encoded = ['Ã', 'Â', 'Ä', 'Å'].iter().any(|c| english.contains(*c));
        let mut names = vec![text(row, "name"), text(row, "woe_name")];
        if !mis_encoded {
            names.push(english.to_owned());
        }
        names.push(text(row, "gn_name"));
        dedup_by_key(&mut names);
        let geom: Vec<u8> = row.try_get("geom").unwrap();
        features.push(Feature {
            alpha2,
            admin: text(row, "admin"),
            adm0_a3,
            names,
            polygons: polygons(&geom),
        });
    }
    features
}

/// The polygons of a GeoPackage geometry (a header, then WKB Polygon or MultiPolygon),
/// in stored units, each ring without its closing vertex or repeated vertices.
fn polygons(blob: &[u8]) -> Vec<Vec<Vec<[i32; 2]>>> {
    assert_eq!(&blob[..2], b"GP", "GeoPackage geometry header");
    let envelope = match (blob[3] >> 1) & 7 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => panic!("envelope type {other}"),
    };
    let mut wkb = Wkb {
        bytes: blob,
        at: 8 + envelope,
        little: true,
    };
    let mut out = Vec::new();
    wkb.geometry(&mut out);
    out
}

struct Wkb<'a> {
    bytes: &'a [u8],
    at: usize,
    little: bool,
}

impl Wkb<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let b: [u8; N] = self.bytes[self.at..self.at + N].try_into().unwrap();
        self.at += N;
        b
    }

    fn u32(&mut self) -> u32 {
        let b = self.take::<4>();
        if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }

    fn f64(&mut self) -> f64 {
        let b = self.take::<8>();
        if self.little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        }
    }

    fn geometry(&mut self, out: &mut Vec<Vec<Vec<[i32; 2]>>>) {
        self.little = self.take::<1>()[0] == 1;
        match self.u32() % 1000 {
            3 => {
                let rings: Vec<_> = (0..self.u32()).map(|_| self.ring()).collect();
                let rings: Vec<_> = rings.into_iter().filter(|r| r.len() >= 3).collect();
                if !rings.is_empty() {
                    out.push(rings);
                }
            }
            6 => {
                for _ in 0..self.u32() {
                    self.geometry(out);
                }
            }
            other => panic!("unexpected WKB geometry type {other}"),
        }
    }

    fn ring(&mut self) -> Vec<[i32; 2]> {
        let mut ring: Vec<[i32; 2]> = Vec::new();
        for _ in 0..self.u32() {
            let (x, y) = (self.f64(), self.f64());
            let v = [x, y].map(|c| (c * UNITS_PER_DEGREE).round() as i32);
            if ring.last() != Some(&v) {
                ring.push(v);
            }
        }
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        ring
    }
}
