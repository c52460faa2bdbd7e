//! Country outlines for the web page's map: what it draws under its tiles, so that with
//! no tiles (offline, tiles failing, `map_tile_url` empty) the points still sit on a
//! recognisable world instead of an empty box.
//!
//! They are derived from the region check's boundary data (`data/boundaries.bin`,
//! Natural Earth, public domain; see `data/README.md`) rather than shipped as a second
//! data file, once per process, as GeoJSON:
//!
//! 1. **Dissolve.** The data holds first-level subdivisions, which share their edges
//!    vertex for vertex (the source was generalised topologically). An edge drawn by two
//!    polygons of one country is a provincial border and is dropped; an edge of two
//!    countries is an international border and is kept once; an edge of one polygon only
//!    is a coast. Edges along the antimeridian and the South Pole, where the data cuts
//!    the globe open, are no lines on the ground and are dropped too.
//! 2. **Chain.** Kept edges are joined into lines that end where three or more meet (a
//!    tripoint, a border reaching the coast), so each border is one line shared by both
//!    countries and simplifying it moves both sides alike: no slivers, no double lines.
//!    Closed rings with no such point are islands, lakes' shores and enclaves. A ring of
//!    coast edges lying inside another polygon of the same country (Berlin drawn over
//!    Brandenburg) is an internal border and is dropped.
//! 3. **Simplify.** Douglas–Peucker to [`TOLERANCE_DEG`]; islands smaller than
//!    [`MIN_ISLAND_DEG`] across are left out; coordinates are rounded to 0.01°.
//!
//! The result is one `MultiLineString` feature of about 320 KB (22,000 points), about
//! 10 km off the true lines at worst: fine for a backdrop at country and province zoom
//! levels, which is all it is for. Real tiles cover it as soon as they load.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use super::format;

/// Douglas–Peucker tolerance: about 11 km, a pixel or so at zoom 4, where a country
/// fills the map; halving it doubles the file.
const TOLERANCE_DEG: f64 = 0.1;

/// Islands (and other closed rings) smaller than this across are left out: a few
/// pixels at the zoom levels the outlines are drawn well at.
const MIN_ISLAND_DEG: f64 = 0.5;

const SCALE: f64 = format::UNITS_PER_DEGREE;
/// Output coordinates are whole hundredths of a degree (about 1 km).
const UNITS_PER_OUTPUT_STEP: i32 = 100;
/// Where the data cuts the globe open, in stored units: its polygons run along
/// longitude ±179.9° (the antimeridian) and latitude −89.9° (the South Pole), lines
/// that are nowhere on the ground. An edge with both ends beyond these is such a cut.
const ANTIMERIDIAN_CUT: i32 = 1_798_900;
const SOUTH_POLE_CUT: i32 = -898_900;

static OUTLINES: OnceLock<String> = OnceLock::new();

/// The outlines as a GeoJSON `FeatureCollection` (one `MultiLineString` feature),
/// built on first use (CPU-bound: about 1.5 s in an unoptimised build, less in a
/// release build; call it off the async runtime) and kept for the life of the process.
pub fn outlines_geojson() -> &'static str {
    OUTLINES.get_or_init(|| to_geojson(&outlines(&parts())))
}

type Point = [i32; 2];

/// One polygon (outer ring and holes) of the data, with the country it belongs to.
struct Part {
    country: u16,
    rings: Vec<Vec<Point>>,
    /// min x, min y, max x, max y.
    bbox: [i32; 4],
}

/// The boundary data's polygons, by country.
fn parts() -> Vec<Part> {
    super::boundaries::boundaries()
        .polygons()
        .map(|(country, bbox, rings)| Part {
            country,
            rings: rings.into_iter().map(<[Point]>::to_vec).collect(),
            bbox,
        })
        .collect()
}

struct Edge {
    a: Point,
    b: Point,
    /// The first polygon that drew it.
    part: u32,
    /// How many polygons drew it.
    seen: u32,
    /// Whether a second polygon of the first one's country drew it.
    within_country: bool,
}

fn key(p: Point) -> u64 {
    (u64::from(p[0] as u32) << 32) | u64::from(p[1] as u32)
}

/// A line of the output, in stored units, before simplification.
struct Chain {
    points: Vec<Point>,
    closed: bool,
}

/// Steps 1 and 2 of the module doc, then 3: the simplified lines in stored units.
fn outlines(parts: &[Part]) -> Vec<Vec<Point>> {
    let edges = dissolve(parts);
    chains(&edges, parts)
        .into_iter()
        .filter_map(simplify)
        .collect()
}

/// Every edge once, with how many polygons drew it; then the ones that are lines on the
/// ground (coasts and international borders), in the data's order.
fn dissolve(parts: &[Part]) -> Vec<Edge> {
    let mut index: HashMap<(u64, u64), usize> = HashMap::new();
    let mut edges: Vec<Edge> = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        for ring in &part.rings {
            for (i, &a) in ring.iter().enumerate() {
                let b = ring[(i + 1) % ring.len()];
                let cut = (a[0].abs() >= ANTIMERIDIAN_CUT && b[0].abs() >= ANTIMERIDIAN_CUT)
                    || (a[1] <= SOUTH_POLE_CUT && b[1] <= SOUTH_POLE_CUT);
                if a == b || cut {
                    continue;
                }
                let (ka, kb) = (key(a), key(b));
                let k = (ka.min(kb), ka.max(kb));
                match index.get(&k) {
                    Some(&e) => {
                        let edge = &mut edges[e];
                        edge.seen += 1;
                        if parts[edge.part as usize].country == part.country {
                            edge.within_country = true;
                        }
                    }
                    None => {
                        index.insert(k, edges.len());
                        edges.push(Edge {
                            a,
                            b,
                            part: p as u32,
                            seen: 1,
                            within_country: false,
                        });
                    }
                }
            }
        }
    }
    edges.retain(|e| !e.within_country);
    edges
}

/// Joins edges into lines between junctions, and closed rings.
fn chains(edges: &[Edge], parts: &[Part]) -> Vec<Chain> {
    let mut at: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        at.entry(key(e.a)).or_default().push(i);
        at.entry(key(e.b)).or_default().push(i);
    }
    let mut used = vec![false; edges.len()];
    // From `from` over edge `via`, the far end; then on while the far end is a plain
    // vertex of exactly two edges.
    let walk = |used: &mut Vec<bool>, from: Point, via: usize, line: &mut Vec<Point>| {
        let (mut node, mut edge) = (from, via);
        loop {
            let e = &edges[edge];
            node = if e.a == node { e.b } else { e.a };
            line.push(node);
            let next = match at[&key(node)].as_slice() {
                [x, y] if *x == edge => *y,
                [x, y] if *y == edge => *x,
                _ => return, // a junction, or a dead end
            };
            if used[next] {
                return; // back where the ring started
            }
            used[next] = true;
            edge = next;
        }
    };
    let mut out = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let e = &edges[start];
        let mut forward = vec![e.a];
        walk(&mut used, e.a, start, &mut forward);
        let closed = forward.len() > 2 && forward.first() == forward.last();
        let points = if closed {
            forward
        } else {
            // Extend the other way from the first point, then join the two halves.
            let mut backward = vec![e.b];
            walk(&mut used, e.b, start, &mut backward);
            backward.reverse();
            backward.pop(); // e.b again, then e.a: both are already in `forward`
            backward.pop();
            backward.extend(forward);
            backward
        };
        if closed && is_internal_ring(&points, edges, start, parts) {
            continue;
        }
        out.push(Chain { points, closed });
    }
    out
}

/// A closed ring of coast edges that lies inside another polygon of its own country
/// (a province drawn over its neighbour without a hole cut for it) is a provincial
/// border, not a coast.
fn is_internal_ring(points: &[Point], edges: &[Edge], edge: usize, parts: &[Part]) -> bool {
    let e = &edges[edge];
    if e.seen != 1 {
        return false;
    }
    let own = e.part as usize;
    let country = parts[own].country;
    let p = points[0];
    parts.iter().enumerate().any(|(i, part)| {
        i != own
            && part.country == country
            && p[0] > part.bbox[0]
            && p[0] < part.bbox[2]
            && p[1] > part.bbox[1]
            && p[1] < part.bbox[3]
            && contains(part, p)
    })
}

/// Even-odd point-in-polygon over all rings, so holes are outside.
fn contains(part: &Part, p: Point) -> bool {
    let (px, py) = (f64::from(p[0]), f64::from(p[1]));
    let mut inside = false;
    for ring in &part.rings {
        let mut prev = ring[ring.len() - 1];
        for &cur in ring {
            let (x1, y1) = (f64::from(prev[0]), f64::from(prev[1]));
            let (x2, y2) = (f64::from(cur[0]), f64::from(cur[1]));
            if (y1 > py) != (y2 > py) && px < x1 + (py - y1) * (x2 - x1) / (y2 - y1) {
                inside = !inside;
            }
            prev = cur;
        }
    }
    inside
}

/// Step 3: the simplified line in output steps, or `None` for a small island or a
/// line that shrank to nothing.
fn simplify(chain: Chain) -> Option<Vec<Point>> {
    let points = &chain.points;
    let tolerance = TOLERANCE_DEG * SCALE;
    let kept = if chain.closed {
        let (min, max) = points
            .iter()
            .fold(([i32::MAX; 2], [i32::MIN; 2]), |(min, max), p| {
                (
                    [min[0].min(p[0]), min[1].min(p[1])],
                    [max[0].max(p[0]), max[1].max(p[1])],
                )
            });
        if f64::from((max[0] - min[0]).max(max[1] - min[1])) < MIN_ISLAND_DEG * SCALE {
            return None;
        }
        // A ring has no end points to keep: split it at its first point and the point
        // farthest from it, and simplify both halves.
        let far = (0..points.len())
            .max_by_key(|&i| {
                let (dx, dy) = (
                    i64::from(points[i][0] - points[0][0]),
                    i64::from(points[i][1] - points[0][1]),
                );
                dx * dx + dy * dy
            })
            .unwrap_or(0);
        let mut first = douglas_peucker(&points[..=far], tolerance);
        let second = douglas_peucker(&points[far..], tolerance);
        first.pop();
        first.extend(second);
        first
    } else {
        douglas_peucker(points, tolerance)
    };
    let step = f64::from(UNITS_PER_OUTPUT_STEP);
    let mut out: Vec<Point> = Vec::with_capacity(kept.len());
    for p in kept {
        let q = p.map(|v| (f64::from(v) / step).round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    let enough = if chain.closed { 4 } else { 2 };
    (out.len() >= enough).then_some(out)
}

/// The points of `line` that Douglas–Peucker keeps at `tolerance` (stored units), ends
/// included. Iterative: a coastline can have tens of thousands of points.
fn douglas_peucker(line: &[Point], tolerance: f64) -> Vec<Point> {
    if line.len() < 3 {
        return line.to_vec();
    }
    let mut keep = vec![false; line.len()];
    keep[0] = true;
    keep[line.len() - 1] = true;
    let mut stack = vec![(0, line.len() - 1)];
    while let Some((first, last)) = stack.pop() {
        let (mut worst, mut at) = (0.0, first);
        for i in first + 1..last {
            let d = distance_to_segment(line[i], line[first], line[last]);
            if d > worst {
                (worst, at) = (d, i);
            }
        }
        if worst > tolerance {
            keep[at] = true;
            stack.push((first, at));
            stack.push((at, last));
        }
    }
    line.iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// Distance in degrees-as-units from `p` to the segment `a`–`b` on the plate carrée
/// plane (as the map's tolerance is meant: in degrees, not kilometres).
fn distance_to_segment(p: Point, a: Point, b: Point) -> f64 {
    let [px, py, ax, ay, bx, by] = [p[0], p[1], a[0], a[1], b[0], b[1]].map(f64::from);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    (px - (ax + t * dx)).hypot(py - (ay + t * dy))
}

/// One feature; numbers written by hand as whole hundredths (`28.05`, `-26.1`), so the
/// file is as small as the rounding allows and byte-for-byte reproducible.
fn to_geojson(lines: &[Vec<Point>]) -> String {
    let mut out = String::from(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"country outlines","source":"Natural Earth (public domain), simplified"},"geometry":{"type":"MultiLineString","coordinates":["#,
    );
    for (i, line) in lines.iter().enumerate() {
        out.push_str(if i == 0 { "[" } else { ",[" });
        for (j, p) in line.iter().enumerate() {
            out.push_str(if j == 0 { "[" } else { ",[" });
            hundredths(&mut out, p[0]);
            out.push(',');
            hundredths(&mut out, p[1]);
            out.push(']');
        }
        out.push(']');
    }
    out.push_str("]}}]}");
    out
}

fn hundredths(out: &mut String, v: i32) {
    let sign = if v < 0 { "-" } else { "" };
    let (whole, frac) = (v.unsigned_abs() / 100, v.unsigned_abs() % 100);
    let _ = match frac {
        0 => write!(out, "{sign}{whole}"),
        f if f % 10 == 0 => write!(out, "{sign}{whole}.{}", f / 10),
        f => write!(out, "{sign}{whole}.{f:02}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geojson() -> serde_json::Value {
        serde_json::from_str(outlines_geojson()).expect("valid JSON")
    }

    fn lines() -> Vec<Vec<[f64; 2]>> {
        serde_json::from_value(geojson()["features"][0]["geometry"]["coordinates"].clone()).unwrap()
    }

    #[test]
    fn the_outlines_are_one_multilinestring_of_a_few_hundred_kilobytes() {
        let v = geojson();
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["features"][0]["geometry"]["type"], "MultiLineString");
        let size = outlines_geojson().len();
        assert!((100_000..400_000).contains(&size), "{size} bytes");
        let lines = lines();
        for line in &lines {
            assert!(line.len() >= 2);
            for p in line {
                assert!((-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1]));
                assert_eq!((p[0] * 100.0).round() / 100.0, p[0], "{p:?} is rounded");
            }
        }
    }

    /// How far (degrees) `p` is from the nearest outline.
    fn distance_to_outlines(lines: &[Vec<[f64; 2]>], p: [f64; 2]) -> f64 {
        let units = |q: [f64; 2]| q.map(|v| (v * SCALE) as i32);
        lines
            .iter()
            .flat_map(|line| line.windows(2))
            .map(|w| distance_to_segment(units(p), units(w[0]), units(w[1])) / SCALE)
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn coasts_and_international_borders_are_drawn() {
        let lines = lines();
        // Cape Point, Cape Agulhas and Durban on the coast; Maseru on the Lesotho
        // border; Beitbridge on the Limpopo (South Africa – Zimbabwe); Kehl–Strasbourg
        // on the Rhine (Germany – France).
        for p in [
            [18.47, -34.35],
            [20.0, -34.83],
            [31.05, -29.86],
            [27.48, -29.31],
            [30.0, -22.22],
            [7.8, 48.57],
        ] {
            let d = distance_to_outlines(&lines, p);
            assert!(d < 0.2, "{p:?} is {d:.2}° from the nearest outline");
        }
    }

    #[test]
    fn provincial_borders_are_not_drawn() {
        let lines = lines();
        // Boxes around areas bordered only by provinces of their own country: Gauteng,
        // Berlin (drawn over Brandenburg, with no hole cut for it) and Bavaria's border
        // with Baden-Württemberg at Ulm.
        for [west, south, east, north] in [
            [26.9, -27.2, 29.2, -25.0],
            [13.0, 52.3, 13.8, 52.7],
            [9.8, 48.2, 10.2, 48.6],
        ] {
            let inside = lines
                .iter()
                .flatten()
                .find(|p| (west..=east).contains(&p[0]) && (south..=north).contains(&p[1]));
            assert_eq!(inside, None, "a line in {west}, {south} – {east}, {north}");
        }
    }

    #[test]
    fn building_twice_gives_the_same_bytes() {
        let parts = parts();
        assert_eq!(to_geojson(&outlines(&parts)), outlines_geojson());
    }

    #[test]
    fn numbers_are_written_as_whole_hundredths() {
        let mut s = String::new();
        for v in [0, 5, -5, 50, 100, -2610, 2805, -3] {
            hundredths(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0 0.05 -0.05 0.5 1 -26.1 28.05 -0.03 ");
    }
}
