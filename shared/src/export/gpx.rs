//! GPX 1.1 waypoints: one `<wpt>` per located row — `name` from the Name column, `cmt`
//! the row's comment, `desc` the other columns as `Header: value` lines, `src` how the
//! point was found, a `link` to the row's map link when it is a web address, and
//! `type` the row's standing (`located`, `approximate`, `outside region`). GPX has no
//! place for arbitrary fields, so the counts are in the metadata's description.

use gpx::{Gpx, GpxVersion, Link, Metadata, Waypoint};

use super::{Point, Points, xml_text::xml_string};
use crate::Result;

pub(super) fn write(points: &Points) -> Result<Vec<u8>> {
    let gpx = Gpx {
        version: GpxVersion::Gpx11,
        creator: Some("maplink".to_owned()),
        metadata: Some(Metadata {
            name: Some(xml_string(points.title)),
            description: Some(xml_string(points.summary())),
            ..Default::default()
        }),
        waypoints: points.located.iter().map(|p| waypoint(points, p)).collect(),
        ..Default::default()
    };
    let mut out = Vec::new();
    gpx::write(&gpx, &mut out).map_err(|e| crate::Error::Export("GPX", e.to_string()))?;
    Ok(out)
}

fn waypoint(points: &Points, point: &Point) -> Waypoint {
    let mut w = Waypoint::new(geo_types::Point::new(point.lng, point.lat));
    // Every text of the waypoint as XML may hold it.
    w.name = Some(xml_string(point.name(points)));
    w.comment = point.text(points.comment).map(xml_string);
    let described: Vec<String> = points
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| ![points.name, points.comment].contains(&Some(*i)))
        .filter_map(|(i, column)| Some(format!("{column}: {}", point.text(Some(i))?)))
        .collect();
    w.description = (!described.is_empty()).then(|| xml_string(described.join("\n")));
    w.source = point.outcome.source.as_deref().map(xml_string);
    w.links = point
        .text(points.link)
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(|href| Link {
            href: xml_string(href),
            text: None,
            type_: None,
        })
        .into_iter()
        .collect();
    w.type_ = Some(
        if point.outcome.check.is_some() {
            "outside region"
        } else if point.outcome.approximate {
            "approximate"
        } else {
            "located"
        }
        .to_owned(),
    );
    w
}
