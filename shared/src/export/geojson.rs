//! GeoJSON (RFC 7946): a FeatureCollection of Points, `[longitude, latitude]`, WGS 84.
//!
//! Each Feature's `id` is its data row; its properties are every sheet column (header →
//! value: numbers stay numbers, blanks are `null`) followed by maplink's fields. The
//! collection carries one foreign member (RFC 7946 §6.1), `maplink`: the located and
//! unlocated counts, which sheet column is the name, region, link and comment, and the
//! key each of maplink's fields was written under.

use geojson::{Feature, FeatureCollection, Geometry, JsonObject, feature::Id};
use serde_json::{Value, json};

use super::{Point, Points};
use crate::Result;

pub(super) fn write(points: &Points) -> Result<Vec<u8>> {
    let features = points.located.iter().map(|p| feature(points, p));
    let mut collection = FeatureCollection::new(features);
    let mut maplink = JsonObject::new();
    maplink.insert("located_rows".into(), points.located.len().into());
    maplink.insert("unlocated_rows".into(), points.unlocated.into());
    maplink.insert(
        "columns".into(),
        json!({
            "name": points.column(points.name),
            "region": points.column(points.region),
            "link": points.column(points.link),
            "comment": points.column(points.comment),
        }),
    );
    maplink.insert(
        "fields".into(),
        Value::Object(
            points
                .fields
                .iter()
                .map(|(field, key)| ((*field).to_owned(), Value::from(key.as_str())))
                .collect(),
        ),
    );
    collection.foreign_members = Some(JsonObject::from_iter([(
        "maplink".to_owned(),
        Value::Object(maplink),
    )]));
    serde_json::to_vec(&collection).map_err(|e| crate::Error::Export("GeoJSON", e.to_string()))
}

fn feature(points: &Points, point: &Point) -> Feature {
    let mut properties: JsonObject = points
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = point
                .cells
                .get(i)
                .map(|c| c.to_json())
                .unwrap_or(Value::Null);
            (column.clone(), value)
        })
        .collect();
    properties.extend(point.fields(points));
    Feature {
        bbox: None,
        geometry: Some(Geometry::new_point([point.lng, point.lat])),
        id: Some(Id::Number(point.outcome.row.into())),
        properties: Some(properties),
        foreign_members: None,
    }
}
