//! The region check against real places: South Africa's provinces (the seed sheet's
//! regions), a few countries elsewhere, the mistakes it is for, and name spellings.

use std::time::Instant;

use super::boundaries::{AreaId, boundaries};
use super::names::names;
use super::*;
use crate::links::Coordinates;

const SANDTON: (f64, f64) = (-26.1076, 28.0567);
const CAPE_TOWN: (f64, f64) = (-33.9249, 18.4241);
const DURBAN: (f64, f64) = (-29.8587, 31.0218);

fn at((lat, lng): (f64, f64)) -> Coordinates {
    Coordinates::new(lat, lng).unwrap()
}

fn subdivision(code: &str) -> u16 {
    let b = boundaries();
    b.subdivisions.iter().position(|s| s.code == code).unwrap() as u16
}

fn index() -> RegionIndex {
    RegionIndex::new([])
}

#[track_caller]
fn assert_inside(index: &RegionIndex, region: &str, point: (f64, f64)) {
    assert_eq!(
        index.check(region, at(point)),
        Verdict::Inside,
        "{region} {point:?}"
    );
}

#[track_caller]
fn outside(index: &RegionIndex, region: &str, point: (f64, f64)) -> Outside {
    match index.check(region, at(point)) {
        Verdict::Outside(outside) => outside,
        other => panic!("{region} {point:?}: expected Outside, got {other:?}"),
    }
}

#[track_caller]
fn codes(areas: &[Area]) -> Vec<&str> {
    areas.iter().map(|a| a.code.as_str()).collect()
}

#[test]
fn every_south_african_province_is_known_by_name_and_code_and_holds_its_city() {
    let provinces = [
        ("Gauteng", "ZA-GP", SANDTON),
        ("Western Cape", "ZA-WC", CAPE_TOWN),
        ("KwaZulu-Natal", "ZA-KZN", DURBAN),
        ("Eastern Cape", "ZA-EC", (-33.9608, 25.6022)), // Gqeberha (Port Elizabeth)
        ("Free State", "ZA-FS", (-29.1200, 26.2200)),   // Bloemfontein
        ("Limpopo", "ZA-LP", (-23.9045, 29.4689)),      // Polokwane
        ("Northern Cape", "ZA-NC", (-28.7500, 24.7500)), // Kimberley
        ("North West", "ZA-NW", (-25.8560, 25.6403)),   // Mahikeng
        ("Mpumalanga", "ZA-MP", (-25.4753, 30.9694)),   // Mbombela
    ];
    // `North West` is also a district of Botswana: the sheet's other provinces decide.
    let index = RegionIndex::new(provinces.iter().map(|p| p.0));
    for (name, code, city) in provinces {
        let known_as = |text: &str| {
            names()
                .lookup(text)
                .iter()
                .any(|&a| a == AreaId::Subdivision(subdivision(code)))
        };
        assert!(known_as(name) && known_as(code), "{name} {code}");
        assert_inside(&index, name, city);
        assert_inside(&index, code, city);
        assert_inside(&index, "South Africa", city);
        // Each city is in its own province only.
        for (other, other_code, _) in provinces {
            if other != name {
                let outside = outside(&index, other, city);
                assert_eq!(
                    codes(&outside.found),
                    ["ZA", code],
                    "{name} checked as {other}"
                );
                assert_eq!(outside.region.code, other_code);
            }
        }
    }
}

/// Every row of the seed sheet that has coordinates is in its region: no false alarm
/// on the worked example (harbour fronts and beachfronts included).
#[test]
fn the_seed_sheet_rows_are_all_inside_their_regions() {
    let rows = [
        ("Gauteng", -26.1076, 28.0567),
        ("Western Cape", -33.9249, 18.4241),
        ("Gauteng", -25.7479, 28.2293),
        ("Eastern Cape", -33.9608, 25.6022),
        ("Western Cape", -33.8918, 18.5810),
        ("Eastern Cape", -32.9783, 27.8708),
        ("Limpopo", -23.9045, 29.4689),
        ("Gauteng", -26.2041, 28.0473),
        ("Western Cape", -33.9022, 18.4178),
        ("KwaZulu-Natal", -29.8587, 31.0218),
        ("Gauteng", -25.7863, 28.2775),
        ("Gauteng", -26.5225, 27.8546),
        ("Gauteng", -26.2309, 27.8546),
        ("Gauteng", -25.9092, 28.1122),
        ("Gauteng", -25.8601, 28.1880),
        ("Gauteng", -26.1500, 28.0600),
        ("Western Cape", -33.9300, 18.4300),
        ("Limpopo", -23.8950, 29.4700),
        ("Gauteng", -25.7900, 28.2800),
        ("Free State", -29.1200, 26.2200),
        ("Northern Cape", -28.7500, 24.7500),
        ("Gauteng", -25.9100, 28.1100),
        ("Western Cape", -33.9100, 18.4200),
        ("Eastern Cape", -32.9800, 27.8700),
        ("KwaZulu-Natal", -29.8600, 31.0200),
    ];
    let index = RegionIndex::new(rows.iter().map(|r| r.0));
    for (region, lat, lng) in rows {
        assert_inside(&index, region, (lat, lng));
    }
    assert!(index.unknown_regions().is_empty());
}

#[test]
fn a_cape_town_point_in_a_gauteng_row_is_outside_and_the_message_names_western_cape() {
    let outside = outside(&index(), "Gauteng", CAPE_TOWN);
    assert_eq!(outside.region.code, "ZA-GP");
    assert_eq!(codes(&outside.found), ["ZA", "ZA-WC"]);
    assert!(!outside.swapped_would_fit);
    assert_eq!(
        outside.to_string(),
        "point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)"
    );
}

#[test]
fn swapped_coordinates_are_outside_and_the_message_says_they_look_swapped() {
    let (lat, lng) = SANDTON;
    let outside = outside(&index(), "Gauteng", (lng, lat));
    assert!(outside.swapped_would_fit);
    // 28.06 N, 26.11 W is in the Atlantic, west of the Canary Islands.
    assert!(outside.found.is_empty());
    assert_eq!(
        outside.to_string(),
        "point is outside Gauteng (ZA-GP): it falls in the sea; \
         latitude and longitude look swapped"
    );
}

#[test]
fn a_pin_in_the_atlantic_is_outside_in_the_sea() {
    let outside = outside(&index(), "Western Cape", (-34.5, 10.0));
    assert!(outside.found.is_empty());
    assert!(!outside.swapped_would_fit);
    assert_eq!(
        Verdict::Outside(outside).message().unwrap(),
        "point is outside Western Cape (ZA-WC): it falls in the sea"
    );
    // 40 km off Cape Town is beyond the tolerance too.
    assert!(outside_sea(&index(), "Western Cape", (-33.92, 17.98)));
}

fn outside_sea(index: &RegionIndex, region: &str, point: (f64, f64)) -> bool {
    outside(index, region, point).found.is_empty()
}

#[test]
fn a_point_in_another_country_names_the_subdivision_and_the_country() {
    // Thaba-Tseka, Lesotho: surrounded by South Africa but not in it.
    let thaba_tseka = (-29.5220, 28.6084);
    for region in ["Free State", "South Africa"] {
        let outside = outside(&index(), region, thaba_tseka);
        assert_eq!(outside.found[0].code, "LS");
        assert!(outside.found[1].code.starts_with("LS-"));
        let message = outside.to_string();
        assert!(message.ends_with(", Lesotho"), "{message}");
    }
}

#[test]
fn south_africa_is_known_by_its_names_and_codes() {
    let index = index();
    for name in [
        "South Africa",
        "south-africa",
        "SOUTH AFRICA",
        "ZA",
        "ZAF",
        "RSA",
        "Suid-Afrika",
    ] {
        for city in [SANDTON, CAPE_TOWN, DURBAN] {
            assert_inside(&index, name, city);
        }
        assert_eq!(outside(&index, name, (-22.56, 17.08)).found[0].code, "NA"); // Windhoek
    }
}

#[test]
fn an_unknown_region_is_reported_once_however_often_it_is_checked() {
    let index = index();
    for point in [SANDTON, CAPE_TOWN, DURBAN] {
        assert_eq!(index.check("Narnia", at(point)), Verdict::UnknownRegion);
    }
    assert_eq!(
        index.check("  NARNIA ", at(SANDTON)),
        Verdict::UnknownRegion
    );
    assert_eq!(index.unknown_regions(), ["Narnia"]);
    assert_eq!(index.check("Gauteng", at(SANDTON)), Verdict::Inside);
    assert_eq!(index.unknown_regions(), ["Narnia"]);
}

#[test]
fn unknown_regions_in_the_sheet_are_recorded_when_the_index_is_built() {
    let index = RegionIndex::new(["Gauteng", "Atlantis", "", "atlantis", "Gauteng", "???"]);
    assert_eq!(index.unknown_regions(), ["Atlantis", "???"]);
}

#[test]
fn a_blank_region_is_not_checked() {
    assert_eq!(index().check("", at(SANDTON)), Verdict::NoRegion);
    assert_eq!(index().check("  \t", at(CAPE_TOWN)), Verdict::NoRegion);
    assert_eq!(Verdict::NoRegion.message(), None);
}

#[test]
fn names_match_whatever_the_case_accents_hyphens_and_designator_words() {
    let index = index();
    let spellings: &[(&[&str], (f64, f64))] = &[
        (
            &[
                "KwaZulu-Natal",
                "Kwazulu Natal",
                "KWAZULU-NATAL",
                "kwa-zulu natal",
                "KwaZulu_Natal",
                "KZN",
                "ZA-KZN",
                "ZA-NL",
                "Natal",
                "KwaZulu-Natal Province",
            ],
            DURBAN,
        ),
        (
            &[
                "Gauteng",
                "  gauteng ",
                "GAUTENG",
                "Gauteng Province",
                "GP",
                "ZA-GP",
                "ZA-GT",
                "za gp",
            ],
            SANDTON,
        ),
        (
            &[
                "Western Cape",
                "western-cape",
                "Province of the Western Cape",
                "WC",
                "Wes-Kaap",
            ],
            CAPE_TOWN,
        ),
        (
            &["North West", "North-West", "Northwest", "NW", "Noordwes"],
            (-25.8560, 25.6403),
        ),
        (
            &[
                "Free State",
                "Free State Province",
                "Vrystaat",
                "Orange Free State",
                "FS",
            ],
            (-29.1200, 26.2200),
        ),
        (
            &["Limpopo", "Northern Province", "ZA-NP", "LP"],
            (-23.9045, 29.4689),
        ),
        (
            &["Bayern", "Bavaria", "Freistaat Bayern", "DE-BY"],
            (48.137, 11.575),
        ),
        (
            &["São Paulo", "Sao Paulo", "SAO PAULO", "BR-SP"],
            (-23.55, -46.63),
        ),
        (
            &[
                "Baden-Württemberg",
                "Baden-Wurttemberg",
                "baden wuerttemberg",
            ],
            (48.7758, 9.1829),
        ),
    ];
    for (names, point) in spellings {
        for name in *names {
            assert_inside(&index, name, *point);
        }
    }
    assert!(
        index.unknown_regions().is_empty(),
        "{:?}",
        index.unknown_regions()
    );
}

#[test]
fn countries_and_subdivisions_elsewhere() {
    let index = index();
    let munich = (48.137, 11.575);
    let los_angeles = (34.05, -118.24);
    let sao_paulo = (-23.55, -46.63);
    for name in ["Germany", "Deutschland", "DE", "DEU", "Bayern", "Bavaria"] {
        assert_inside(&index, name, munich);
    }
    for name in [
        "USA",
        "United States",
        "United States of America",
        "US",
        "California",
    ] {
        assert_inside(&index, name, los_angeles);
    }
    for name in ["Brazil", "Brasil", "BR", "São Paulo"] {
        assert_inside(&index, name, sao_paulo);
    }
    let wrong = outside(&index, "Bayern", (52.52, 13.405)); // Berlin
    assert_eq!(codes(&wrong.found), ["DE", "DE-BE"]);
    let wrong = outside(&index, "California", (36.17, -115.14)); // Las Vegas
    assert_eq!(codes(&wrong.found), ["US", "US-NV"]);
    let wrong = outside(&index, "Brazil", (-34.6, -58.38)); // Buenos Aires
    assert_eq!(wrong.found[0].code, "AR");
}

#[test]
fn an_ambiguous_name_is_read_in_the_country_the_sheet_names_most() {
    let toronto = (43.65, -79.38);
    let los_angeles = (34.05, -118.24);
    // On its own, `CA` is Canada or California: a point in either passes.
    assert_inside(&index(), "CA", toronto);
    assert_inside(&index(), "CA", los_angeles);
    // In a sheet of US states it is California.
    let us_sheet = RegionIndex::new(["California", "Texas", "CA", "Nevada"]);
    assert_inside(&us_sheet, "CA", los_angeles);
    assert_eq!(outside(&us_sheet, "CA", toronto).region.code, "US-CA");
    // `SA` in a sheet of South African provinces is South Africa, not Saudi Arabia.
    let za_sheet = RegionIndex::new(["Gauteng", "Western Cape", "SA"]);
    assert_inside(&za_sheet, "SA", SANDTON);
    assert_eq!(outside(&za_sheet, "SA", (24.71, 46.67)).region.code, "ZA"); // Riyadh
}

#[test]
fn a_point_just_over_a_border_passes_within_the_tolerance() {
    let index = index();
    let b = boundaries();
    let gauteng = names().lookup("Gauteng")[0];
    // Walk west from Sandton to where the polygon ends …
    let (lat, mut lng) = SANDTON;
    while b.contains_strictly(gauteng, lat, lng) {
        lng -= 0.001;
    }
    // … a point 2 km (0.02° at this latitude) beyond it still counts as Gauteng, one
    // 30 km beyond does not.
    assert_inside(&index, "Gauteng", (lat, lng - 0.02));
    let outside = outside(&index, "Gauteng", (lat, lng - 0.3));
    assert_eq!(codes(&outside.found), ["ZA", "ZA-NW"]);
}

#[test]
fn region_columns_are_found_by_header_whatever_the_case_and_punctuation() {
    let header = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(
        region_columns(&header(&["Name", "Region", "Maps link", "LONG", "LATTs"])),
        [1]
    );
    assert_eq!(
        region_columns(&header(&[
            "COUNTRY",
            "name",
            "State/Province",
            "link",
            " province "
        ])),
        [0, 2, 4]
    );
    assert_eq!(
        region_columns(&header(&["Country / Region", "State"])),
        [0, 1]
    );
    assert!(region_columns(&header(&["Region code", "Sales region", "Name", ""])).is_empty());
}

#[test]
fn the_embedded_data_is_consistent() {
    let b = boundaries();
    assert!(b.countries.len() > 200);
    assert!(b.subdivisions.len() > 3000);
    for s in &b.subdivisions {
        let country = &b.countries[usize::from(s.country)];
        assert!(
            s.code.starts_with(&format!("{}-", country.alpha2)),
            "{}",
            s.code
        );
    }
    let za: Vec<&str> = b
        .subdivisions
        .iter()
        .filter(|s| s.code.starts_with("ZA-"))
        .map(|s| s.code.as_str())
        .collect();
    assert_eq!(
        za,
        [
            "ZA-EC", "ZA-FS", "ZA-GP", "ZA-KZN", "ZA-LP", "ZA-MP", "ZA-NC", "ZA-NW", "ZA-WC"
        ]
    );
}

/// Cost per check, for a sheet-sized loop. Run with
/// `cargo test -p maplink --release geo::tests::check_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
fn check_cost() {
    let started = Instant::now();
    let b = super::boundaries::Boundaries::decode(include_bytes!("data/boundaries.bin")).unwrap();
    println!("decode: {:?}", started.elapsed());
    let (parts, vertices, cells) = b.sizes();
    println!("{parts} polygons, {vertices} vertices, {cells} grid entries");
    let started = Instant::now();
    preload();
    println!("load (decode and name index): {:?}", started.elapsed());
    let regions = [
        "Gauteng",
        "Western Cape",
        "KwaZulu-Natal",
        "South Africa",
        "California",
        "USA",
    ];
    let index = RegionIndex::new(regions);
    let cases = [
        ("Gauteng", SANDTON),
        ("Western Cape", CAPE_TOWN),
        ("KwaZulu-Natal", DURBAN),
        ("South Africa", DURBAN),
        ("Gauteng", CAPE_TOWN),
        ("California", (34.05, -118.24)),
        ("USA", (34.05, -118.24)),
        ("Gauteng", (28.0567, -26.1076)),
    ];
    for (region, point) in cases {
        let point = at(point);
        let rows = 100_000;
        let started = Instant::now();
        for _ in 0..rows {
            std::hint::black_box(index.check(std::hint::black_box(region), point));
        }
        let per = started.elapsed() / rows;
        println!(
            "{region:>14} {:>22}: {per:?} per check",
            format!("{point:?}")
        );
    }
}
