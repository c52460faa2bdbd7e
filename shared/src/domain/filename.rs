//! A client's filename made safe for display and download names. A session keeps the
//! sanitized name beside the original; nothing here is ever used as a path.

use super::FileFormat;

/// A safe rendition of a client's filename: ASCII letters, digits, `-`, `_` and `.`
/// only, no leading dots, at most 100 characters, always ending in the format's
/// extension. Used for display and download names, never for paths.
pub fn sanitize_filename(original: &str, format: FileFormat) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => base,
    };
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean = clean.trim_start_matches('.').to_owned();
    clean.truncate(100);
    if clean.is_empty() {
        clean.push_str("upload");
    }
    format!("{clean}.{}", format.extension())
}

/// A download's name from a session's file name: `processed_<stem><suffix>.<ext>`,
/// with `extension` in place of the sheet's own for an export (`stores.xlsx` →
/// `processed_stores_failed.xlsx`, `processed_stores.geojson`).
pub fn download_name(name: &str, suffix: &str, extension: Option<&str>) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, Some(ext)),
        None => (name, None),
    };
    match extension.or(ext) {
        Some(ext) => format!("processed_{stem}{suffix}.{ext}"),
        None => format!("processed_{stem}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_cannot_escape_or_hide() {
        assert_eq!(
            sanitize_filename("../../etc/passwd.xlsx", FileFormat::Xlsx),
            "passwd.xlsx"
        );
        assert_eq!(
            sanitize_filename("C:\\x\\..hidden.XLSX", FileFormat::Xlsx),
            "hidden.xlsx"
        );
        assert_eq!(
            sanitize_filename("Stores 2024 (v2).csv", FileFormat::Csv),
            "Stores_2024__v2_.csv"
        );
        assert_eq!(sanitize_filename(".xlsx", FileFormat::Xlsx), "upload.xlsx");
        assert_eq!(
            sanitize_filename("Überstädte.xlsx", FileFormat::Xlsx),
            "_berst_dte.xlsx"
        );
    }

    #[test]
    fn download_names_keep_their_stem() {
        let name = download_name;
        assert_eq!(
            name("stores.xlsx", "_failed", None),
            "processed_stores_failed.xlsx"
        );
        assert_eq!(
            name("stores.xlsx", "", Some("geojson")),
            "processed_stores.geojson"
        );
        assert_eq!(name("stores", "", Some("kml")), "processed_stores.kml");
        assert_eq!(name("stores", "_skipped", None), "processed_stores_skipped");
        assert_eq!(name("a.b.csv", "", None), "processed_a.b.csv");
    }
}
