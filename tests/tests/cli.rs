//! The binaries' command lines: `--help`, `--version` and usage errors of both, and
//! `maplink-worker convert`, the one-shot command scripts use.

use std::process::{Command, Output};

use maplink_tests::{binaries::binary, sheets};

/// `name args…`, with no settings in its environment unless the caller adds some.
fn command(name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary(name));
    cmd.args(args).env_clear();
    cmd
}

fn run(name: &str, args: &[&str]) -> Output {
    command(name, args).output().expect("run the binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn each_command_line_has_a_full_help_with_every_setting_and_its_default() {
    for args in [
        &["maplink-api", "--help"][..],
        &["maplink-worker", "--help"],
        &["maplink-worker", "run", "--help"],
        &["maplink-worker", "convert", "--help"],
    ] {
        let out = run(args[0], &args[1..]);
        let help = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(help.contains("--config <FILE>"), "{args:?}: {help}");
        assert!(help.contains("[env: MAPLINK_CONFIG="), "{args:?}: {help}");
        for (variable, default) in [
            ("MAPLINK_REDIS_URL", "(unset)"),
            ("MAPLINK_SESSION_TTL_SECS", "7200"),
            ("MAPLINK_BIND", "127.0.0.1:8080"),
            ("MAPLINK_MAP_MAX_POINTS", "20000"),
        ] {
            assert!(
                help.lines()
                    .any(|l| l.split_whitespace().eq([variable, default])),
                "{args:?}: no line `{variable}  {default}` in {help}"
            );
        }
    }
    let worker = stdout(&run("maplink-worker", &["--help"]));
    assert!(
        worker.contains("run ") && worker.contains("convert "),
        "{worker}"
    );
    let convert = stdout(&run("maplink-worker", &["convert", "--help"]));
    for option in [
        "<INPUT>",
        "--output <OUTPUT>",
        "--details",
        "--format <FORMAT>",
    ] {
        assert!(convert.contains(option), "{option} in {convert}");
    }
    assert!(
        convert.contains("[possible values: geojson, kml, gpx]"),
        "{convert}"
    );
}

#[test]
fn both_binaries_print_their_version() {
    for name in ["maplink-api", "maplink-worker"] {
        let out = run(name, &["--version"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn a_usage_error_exits_2_with_clap_s_message() {
    for args in [
        &["maplink-api", "--bogus"][..],
        &["maplink-api", "extra"],
        &["maplink-worker", "serve"],
        &["maplink-worker", "--config"],
        &["maplink-worker", "convert", "a.xlsx", "--fast"],
    ] {
        let out = run(args[0], &args[1..]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("error: ")
                && stderr(&out).contains("For more information, try '--help'."),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

fn convert(dir: &std::path::Path, args: &[&str]) -> Output {
    command("maplink-worker", &[&["convert"], args].concat())
        .current_dir(dir)
        .env("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1")
        .output()
        .expect("run maplink-worker convert")
}

#[test]
fn converts_a_sheet_next_to_it_with_failed_and_skipped_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stores.xlsx"), sheets::seed_example_xlsx()).unwrap();
    let out = convert(dir.path(), &["stores.xlsx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("30 rows: 26 successful, 2 failed, 2 skipped"),
        "{}",
        stderr(&out)
    );

    let output =
        sheets::read_xlsx(&std::fs::read(dir.path().join("processed_stores.xlsx")).unwrap());
    assert_eq!(output[0].1.len(), 31);
    assert_eq!(output[0].1[1][3].to_string(), "28.0567");
    let failed =
        sheets::read_xlsx(&std::fs::read(dir.path().join("processed_stores_failed.xlsx")).unwrap());
    assert_eq!(failed[0].1.len(), 3, "header + 2 failed rows");
    assert!(dir.path().join("processed_stores_skipped.xlsx").is_file());
}

#[test]
fn an_explicit_output_path_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), sheets::SEED_EXAMPLE_CSV).unwrap();
    let out = convert(dir.path(), &["in.csv", "-o", "result.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = sheets::csv_rows(&std::fs::read(dir.path().join("result.csv")).unwrap());
    assert_eq!(rows[0].last().map(String::as_str), Some("Comments"));
    assert!(dir.path().join("result_failed.csv").is_file());
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fake.xlsx"), b"Name,Region,Maps\n").unwrap();
    std::fs::write(dir.path().join("cols.csv"), b"Name,Link\nA,B\n").unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["fake.xlsx"],
            1,
            "error: Error processing file: the file is not a valid .xlsx workbook",
        ),
        (&["cols.csv"], 1, "error: Missing required map column."),
        (&["missing.xlsx"], 1, "error: cannot read missing.xlsx"),
        (
            &["notes.txt"],
            1,
            "error: Only .xlsx or .csv files are allowed",
        ),
        (&[], 2, "Usage: maplink-worker convert <INPUT>"),
    ];
    for (args, code, message) in cases {
        let out = convert(dir.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with("processed_") && !n.starts_with(".maplink-")),
        "{names:?}"
    );
}

#[test]
fn details_add_source_precision_and_check_columns_and_the_summary_names_unknown_regions() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = "Name,Region,Maps link\n\
                 Sandton,Gauteng,\"https://maps.google.com/?q=-26.1076,28.0567\"\n\
                 Cape Town,Gauteng,\"https://www.google.com/maps/@-33.9249,18.4241,15z\"\n\
                 Pin,Atlantis,5G5CVX5C+2V\n\
                 Pin 2,Atlantis,5G5CVX5C+2V\n";
    std::fs::write(dir.path().join("stores.csv"), sheet).unwrap();

    let out = convert(dir.path(), &["stores.csv", "--details"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(
            "Region names the check does not know (their rows were not checked): \"Atlantis\""
        ) && said
            .contains("1 rows have a point outside the region they name (see the Check column)"),
        "{said}"
    );
    let rows = sheets::csv_rows(&std::fs::read(dir.path().join("processed_stores.csv")).unwrap());
    assert_eq!(
        rows[0],
        [
            "Name",
            "Region",
            "Maps link",
            "LONG",
            "LATTs",
            "Comments",
            "Source",
            "Precision",
            "Check"
        ]
    );
    assert_eq!(rows[1][5..], ["Success", "coordinates in link", "11", ""]);
    assert_eq!(
        rows[2][5..],
        [
            "Success",
            "map centre",
            "approximate",
            "point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)"
        ]
    );
    assert_eq!(rows[3][5..], ["Success", "plus code", "14", ""]);

    // Without the option the sheet has the output columns only.
    let out = convert(dir.path(), &["stores.csv", "-o", "plain.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("(run with --details for a Check column)"));
    let rows = sheets::csv_rows(&std::fs::read(dir.path().join("plain.csv")).unwrap());
    assert_eq!(
        rows[0],
        ["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"]
    );
}

#[test]
fn writes_the_located_rows_as_geojson_kml_and_gpx() {
    use std::str::FromStr;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stores.xlsx"), sheets::seed_example_xlsx()).unwrap();
    let expected: Vec<(f64, f64)> = sheets::seed_expected()
        .into_iter()
        .filter_map(|e| Some((e.lng?, e.lat?)))
        .collect();
    assert_eq!(expected.len(), 26);
    let same = |got: Vec<(f64, f64)>, format: &str| {
        assert_eq!(got.len(), 26, "{format}");
        for (g, w) in got.iter().zip(&expected) {
            assert!(
                (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9,
                "{format}: {g:?} vs {w:?}"
            );
        }
    };
    for format in ["geojson", "kml", "gpx"] {
        let out = convert(dir.path(), &["stores.xlsx", "--format", format]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "4 rows without coordinates are not in the {format} file"
            )),
            "{}",
            stderr(&out)
        );
        let text =
            std::fs::read_to_string(dir.path().join(format!("processed_stores.{format}"))).unwrap();
        let points = match format {
            "geojson" => {
                let fc = geojson::FeatureCollection::from_str(&text).unwrap();
                fc.features
                    .iter()
                    .map(|f| match f.geometry.as_ref().map(|g| &g.value) {
                        Some(geojson::GeometryValue::Point { coordinates }) => {
                            (coordinates[0], coordinates[1])
                        }
                        other => panic!("not a point: {other:?}"),
                    })
                    .collect()
            }
            "kml" => {
                let kml::Kml::KmlDocument(doc) = kml::Kml::<f64>::from_str(&text).unwrap() else {
                    panic!("not a KML document");
                };
                let kml::Kml::Document { elements, .. } = &doc.elements[0] else {
                    panic!("no Document");
                };
                elements
                    .iter()
                    .filter_map(|e| match e {
                        kml::Kml::Placemark(p) => match &p.geometry {
                            Some(kml::types::Geometry::Point(pt)) => Some((pt.coord.x, pt.coord.y)),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect()
            }
            _ => gpx::read(text.as_bytes())
                .unwrap()
                .waypoints
                .iter()
                .map(|w| (w.point().x(), w.point().y()))
                .collect(),
        };
        same(points, format);
    }
    // Only the exports were written: no sheet, no failed/skipped subsets.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "processed_stores.geojson",
            "processed_stores.gpx",
            "processed_stores.kml",
            "stores.xlsx"
        ]
    );
    let bad = convert(dir.path(), &["stores.xlsx", "--format", "shp"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid value 'shp' for '--format <FORMAT>'")
            && stderr(&bad).contains("[possible values: geojson, kml, gpx]"),
        "{}",
        stderr(&bad)
    );
}
