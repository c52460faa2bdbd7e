//! KML 2.2: a Document with one Placemark per located row — its name from the Name
//! column, its description the row's comment, every sheet column and maplink's fields
//! in `ExtendedData` (`<Data name="…"><value>…</value></Data>`, which Google Earth and
//! GIS tools show as the placemark's attributes). The Document's own `ExtendedData`
//! holds the located and unlocated counts.

use std::collections::HashMap;

use kml::{
    Kml, KmlWriter,
    types::{Element, Geometry, Placemark, Point as KmlPoint},
};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use super::{Point, Points, xml_text::xml_string};
use crate::Result;

pub(super) fn write(points: &Points) -> Result<Vec<u8>> {
    let failed = |e: &dyn std::fmt::Display| crate::Error::Export("KML", e.to_string());
    let mut out = Vec::new();
    // The two containers are opened and closed here and each element written on its
    // own as it is built, so a run of 100,000 rows never exists as one document tree.
    let mut xml = quick_xml::Writer::new(&mut out);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(|e| failed(&e))?;
    xml.write_event(Event::Start(
        BytesStart::new("kml").with_attributes([("xmlns", "http://www.opengis.net/kml/2.2")]),
    ))
    .map_err(|e| failed(&e))?;
    xml.write_event(Event::Start(BytesStart::new("Document")))
        .map_err(|e| failed(&e))?;
    let head = [
        text("name", points.title),
        text("description", &points.summary()),
        Kml::Element(extended_data([
            ("located_rows", points.located.len().to_string()),
            ("unlocated_rows", points.unlocated.to_string()),
        ])),
    ];
    let placemarks = points
        .located
        .iter()
        .map(|p| Kml::Placemark(placemark(points, p)));
    for element in head.into_iter().chain(placemarks) {
        KmlWriter::<_, f64>::from_writer(&mut out)
            .write(&element)
            .map_err(|e| failed(&e))?;
    }
    let mut xml = quick_xml::Writer::new(&mut out);
    for tag in ["Document", "kml"] {
        xml.write_event(Event::End(BytesEnd::new(tag)))
            .map_err(|e| failed(&e))?;
    }
    Ok(out)
}

fn placemark(points: &Points, point: &Point) -> Placemark {
    let columns = points
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| (column.clone(), point.text(Some(i)).unwrap_or_default()));
    // Every text in the placemark, names of columns included, as XML may hold it.
    let fields = point.fields(points).into_iter().map(|(key, value)| {
        let value = match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        (key, value)
    });
    Placemark {
        name: Some(xml_string(point.name(points))),
        description: point.text(points.comment).map(xml_string),
        geometry: Some(Geometry::Point(KmlPoint::new(point.lng, point.lat, None))),
        children: vec![extended_data(columns.chain(fields))],
        ..Default::default()
    }
}

/// `<name>text</name>` and the like, as a Document child.
fn text(name: &str, content: &str) -> Kml {
    Kml::Element(Element {
        name: name.to_owned(),
        content: Some(xml_string(content)),
        ..Default::default()
    })
}

fn extended_data<K: Into<String>>(data: impl IntoIterator<Item = (K, String)>) -> Element {
    Element {
        name: "ExtendedData".to_owned(),
        children: data
            .into_iter()
            .map(|(name, value)| Element {
                name: "Data".to_owned(),
                attrs: HashMap::from([("name".to_owned(), xml_string(name.into()))]),
                children: vec![Element {
                    name: "value".to_owned(),
                    content: Some(xml_string(value)),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
