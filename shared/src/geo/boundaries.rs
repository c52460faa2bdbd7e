//! The boundary data: every country and first-level subdivision as polygons, loaded
//! once per process, and the two questions asked of it — is a point within a given
//! area (allowing [`TOLERANCE_KM`]), and which area is a point in.
//!
//! The data is `data/boundaries.bin`, built by the `generate` test module from Natural
//! Earth's admin-1 layer (see `data/README.md` for the source, licence and how to
//! rebuild it). Countries are the union of their subdivisions, so a point inside a
//! province is always inside its country.
//!
//! A 1° × 1° grid lists, for each cell, the polygons whose bounding box — widened by
//! the tolerance — touches the cell, so a query tests only the few polygons near the
//! point. Polygons are tested edge by edge (even-odd rule), then, when the point is
//! outside but within the widened box, by its distance to the nearest edge.
//!
//! Distances use a local flat projection around the point (longitude scaled by the
//! cosine of the latitude), which is accurate to well under 1% at the few kilometres
//! the tolerance covers. Polygons are not joined across the antimeridian: a point at
//! 179.99° E is not "near" an area that starts at 180° W. No area near the line is
//! populated enough for this to matter to a sheet of addresses.

use std::io::Read;
use std::sync::LazyLock;

use flate2::read::DeflateDecoder;

use super::format::{self, Reader};

/// How far outside an area's boundary a point still counts as inside it.
///
/// The boundaries are Natural Earth's 1:10 million admin-1 polygons, further
/// simplified for size: a vertex of the full 1:10m data lies up to about 1.3 km from
/// the simplified line (measured on Australia's states), and 1:10m lines themselves
/// sit a few kilometres from the surveyed border or coast in places. Measured against
/// OpenStreetMap's country borders (the `country-boundaries` crate) on 367,000 land
/// points 0.05° apart across southern Africa, central Europe and the United States,
/// the country disagrees at 0.27% of the points with no tolerance, 0.11% with 2 km,
/// 0.07% with 5 km and 0.06% with 10 km; what remains past 5 km are stretches where
/// the two data sets draw a border differently (the Orange River between South Africa
/// and Namibia), not imprecision. So 5 km: a pin on a harbour wall, a beach or a town
/// on a border is not flagged, while the mistakes the check is for are far larger —
/// swapped coordinates land hundreds or thousands of kilometres away, and a pin copied
/// from another row is usually in another town.
pub const TOLERANCE_KM: f64 = 5.0;

const SCALE: f64 = format::UNITS_PER_DEGREE;
const KM_PER_DEGREE: f64 = 111.32;

static BOUNDARIES: LazyLock<Boundaries> = LazyLock::new(|| {
    // The file is part of the build; a decoding failure is a build defect, caught by
    // the tests, not something a run could recover from.
    Boundaries::decode(include_bytes!("data/boundaries.bin"))
        .expect("the embedded boundary data decodes")
});

/// The process-wide boundary data, decoded on first use (about 20 ms).
pub(super) fn boundaries() -> &'static Boundaries {
    &BOUNDARIES
}

#[derive(Debug)]
pub(super) struct Country {
    /// ISO 3166-1 alpha-2.
    pub alpha2: String,
    /// ISO 3166-1 alpha-3 (empty where ISO has none, e.g. Kosovo's `XK`).
    pub alpha3: String,
    pub name: String,
    /// Other names the data knows (shorter forms, former names).
    pub aliases: Vec<String>,
}

#[derive(Debug)]
pub(super) struct Subdivision {
    pub country: u16,
    /// ISO 3166-2, e.g. `ZA-GP`.
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
}

/// One polygon (outer ring and holes) of a country or subdivision.
#[derive(Debug)]
struct Part {
    country: u16,
    subdivision: Option<u16>,
    /// min x, min y, max x, max y in stored units (x = longitude, y = latitude).
    bbox: [i32; 4],
    /// Each ring's range in `vertices`; rings are implicitly closed.
    rings: Vec<(u32, u32)>,
}

/// What a query is about: a whole country or one subdivision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum AreaId {
    Country(u16),
    Subdivision(u16),
}

#[derive(Debug)]
pub(super) struct Boundaries {
    pub countries: Vec<Country>,
    pub subdivisions: Vec<Subdivision>,
    parts: Vec<Part>,
    vertices: Vec<[i32; 2]>,
    /// Cell `c`'s parts are `cell_parts[cell_start[c]..cell_start[c + 1]]`.
    cell_start: Vec<u32>,
    cell_parts: Vec<u32>,
}

/// A point in stored units and the flat-projection factors around it.
#[derive(Clone, Copy, Debug)]
struct Probe {
    x: f64,
    y: f64,
    km_per_unit_x: f64,
    km_per_unit_y: f64,
}

impl Probe {
    fn new(lat: f64, lng: f64) -> Self {
        let km_per_unit_y = KM_PER_DEGREE / SCALE;
        Self {
            x: lng * SCALE,
            y: lat * SCALE,
            km_per_unit_x: km_per_unit_y * lat.to_radians().cos(),
            km_per_unit_y,
        }
    }
}

impl Boundaries {
    /// Every polygon as (country, bounding box, rings), for drawing the map outlines
    /// (`outlines`) from the same decoded data the check uses.
    pub(super) fn polygons(&self) -> impl Iterator<Item = (u16, [i32; 4], Vec<&[[i32; 2]]>)> + '_ {
        self.parts.iter().map(|p| {
            let rings = p
                .rings
                .iter()
                .map(|&(start, end)| &self.vertices[start as usize..end as usize])
                .collect();
            (p.country, p.bbox, rings)
        })
    }

    pub(super) fn decode(deflated: &[u8]) -> Result<Self, format::Error> {
        let mut bytes = Vec::new();
        DeflateDecoder::new(deflated)
            .read_to_end(&mut bytes)
            .map_err(|_| format::Error("not deflate data"))?;
        let mut r = Reader::new(&bytes);
        r.magic()?;

        let countries = (0..r.count()?)
            .map(|_| {
                Ok(Country {
                    alpha2: r.string()?,
                    alpha3: r.string()?,
                    name: r.string()?,
                    aliases: r.strings()?,
                })
            })
            .collect::<Result<Vec<_>, format::Error>>()?;
        let subdivisions = (0..r.count()?)
            .map(|_| {
                Ok(Subdivision {
                    country: r.index(countries.len())?,
                    code: r.string()?,
                    name: r.string()?,
                    aliases: r.strings()?,
                })
            })
            .collect::<Result<Vec<_>, format::Error>>()?;

        let mut parts = Vec::new();
        let mut vertices: Vec<[i32; 2]> = Vec::new();
        for _ in 0..r.count()? {
            let country = r.index(countries.len())?;
            let subdivision = match r.count()? {
                0 => None,
                n => Some(u16::try_from(n - 1).map_err(|_| format::Error("index"))?),
            };
            if subdivision.is_some_and(|s| usize::from(s) >= subdivisions.len()) {
                return Err(format::Error("subdivision index out of range"));
            }
            let mut rings = Vec::new();
            let mut bbox = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
            for _ in 0..r.count()? {
                let start = vertices.len();
                let (mut x, mut y) = (0i32, 0i32);
                for _ in 0..r.count()? {
                    x = x.wrapping_add(r.signed()?);
                    y = y.wrapping_add(r.signed()?);
                    vertices.push([x, y]);
                    bbox = [
                        bbox[0].min(x),
                        bbox[1].min(y),
                        bbox[2].max(x),
                        bbox[3].max(y),
                    ];
                }
                let end = vertices.len();
                if end - start < 3 {
                    return Err(format::Error("ring with fewer than 3 vertices"));
                }
                rings.push((start as u32, end as u32));
            }
            if rings.is_empty() {
                return Err(format::Error("polygon without rings"));
            }
            parts.push(Part {
                country,
                subdivision,
                bbox,
                rings,
            });
        }
        r.end()?;

        let (cell_start, cell_parts) = grid(&parts);
        Ok(Self {
            countries,
            subdivisions,
            parts,
            vertices,
            cell_start,
            cell_parts,
        })
    }

    /// The country an area belongs to (itself for a country).
    pub(super) fn country_of(&self, area: AreaId) -> u16 {
        match area {
            AreaId::Country(c) => c,
            AreaId::Subdivision(s) => self.subdivisions[usize::from(s)].country,
        }
    }

    /// Whether the point is inside `area` or within [`TOLERANCE_KM`] of it.
    pub(super) fn is_within(&self, area: AreaId, lat: f64, lng: f64) -> bool {
        let probe = Probe::new(lat, lng);
        self.parts_near(lat, lng)
            .filter(|part| match area {
                AreaId::Country(c) => part.country == c,
                AreaId::Subdivision(s) => part.subdivision == Some(s),
            })
            .any(|part| self.contains(part, probe) || self.is_near(part, probe))
    }

    /// Polygons, vertices and grid entries held in memory.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize, usize) {
        (self.parts.len(), self.vertices.len(), self.cell_parts.len())
    }

    /// Whether the point is inside `area`'s polygons, without the tolerance.
    #[cfg(test)]
    pub(super) fn contains_strictly(&self, area: AreaId, lat: f64, lng: f64) -> bool {
        let probe = Probe::new(lat, lng);
        self.parts_near(lat, lng)
            .filter(|part| match area {
                AreaId::Country(c) => part.country == c,
                AreaId::Subdivision(s) => part.subdivision == Some(s),
            })
            .any(|part| self.contains(part, probe))
    }

    /// The areas the point is in: its country and, where the data has one, its
    /// subdivision. When no polygon contains the point (a simplified coastline, a
    /// harbour), the nearest one within [`TOLERANCE_KM`] answers. `None`: open water,
    /// or land the data does not cover.
    pub(super) fn locate(&self, lat: f64, lng: f64) -> Option<(u16, Option<u16>)> {
        let probe = Probe::new(lat, lng);
        // Where polygons overlap (Berlin drawn over Brandenburg without a hole), the
        // smaller one is the more specific answer.
        let mut containing: Option<(f64, &Part)> = None;
        let mut nearest: Option<(f64, &Part)> = None;
        for part in self.parts_near(lat, lng) {
            if self.contains(part, probe) {
                let area = bbox_area(part);
                if containing.is_none_or(|(best, _)| area < best) {
                    containing = Some((area, part));
                }
            } else if containing.is_none()
                && let Some(d) = self.distance_km(part, probe)
                && d <= TOLERANCE_KM
                && nearest.is_none_or(|(best, _)| d < best)
            {
                nearest = Some((d, part));
            }
        }
        containing
            .or(nearest)
            .map(|(_, part)| (part.country, part.subdivision))
    }

    fn parts_near(&self, lat: f64, lng: f64) -> impl Iterator<Item = &Part> {
        let cell = cell_index(lng, lat);
        let range = self.cell_start[cell] as usize..self.cell_start[cell + 1] as usize;
        self.cell_parts[range]
            .iter()
            .map(|&p| &self.parts[p as usize])
    }

    fn ring(&self, (start, end): (u32, u32)) -> &[[i32; 2]] {
        &self.vertices[start as usize..end as usize]
    }

    /// Even-odd point-in-polygon over all rings, so holes are outside.
    fn contains(&self, part: &Part, p: Probe) -> bool {
        let [min_x, min_y, max_x, max_y] = part.bbox;
        if p.x < f64::from(min_x)
            || p.x > f64::from(max_x)
            || p.y < f64::from(min_y)
            || p.y > f64::from(max_y)
        {
            return false;
        }
        let mut inside = false;
        for &ring in &part.rings {
            let ring = self.ring(ring);
            let mut prev = ring[ring.len() - 1];
            for &cur in ring {
                let (x1, y1) = (f64::from(prev[0]), f64::from(prev[1]));
                let (x2, y2) = (f64::from(cur[0]), f64::from(cur[1]));
                if (y1 > p.y) != (y2 > p.y) && p.x < x1 + (p.y - y1) * (x2 - x1) / (y2 - y1) {
                    inside = !inside;
                }
                prev = cur;
            }
        }
        inside
    }

    fn is_near(&self, part: &Part, p: Probe) -> bool {
        self.distance_km(part, p).is_some_and(|d| d <= TOLERANCE_KM)
    }

    /// Distance from the point to the part's nearest edge, or `None` when the point is
    /// beyond the tolerance from the part's bounding box (no edge can be near).
    fn distance_km(&self, part: &Part, p: Probe) -> Option<f64> {
        let [min_x, min_y, max_x, max_y] = part.bbox;
        let dx_box = (f64::from(min_x) - p.x)
            .max(p.x - f64::from(max_x))
            .max(0.0);
        let dy_box = (f64::from(min_y) - p.y)
            .max(p.y - f64::from(max_y))
            .max(0.0);
        if dx_box * p.km_per_unit_x > TOLERANCE_KM || dy_box * p.km_per_unit_y > TOLERANCE_KM {
            return None;
        }
        let mut best = f64::INFINITY;
        for &ring in &part.rings {
            let ring = self.ring(ring);
            let mut prev = ring[ring.len() - 1];
            for &cur in ring {
                best = best.min(segment_distance_km(p, prev, cur));
                prev = cur;
            }
        }
        Some(best)
    }
}

fn bbox_area(part: &Part) -> f64 {
    let [min_x, min_y, max_x, max_y] = part.bbox.map(f64::from);
    (max_x - min_x) * (max_y - min_y)
}

/// Distance in km from the probe to the segment `a`–`b` in the flat projection.
fn segment_distance_km(p: Probe, a: [i32; 2], b: [i32; 2]) -> f64 {
    let ax = (f64::from(a[0]) - p.x) * p.km_per_unit_x;
    let ay = (f64::from(a[1]) - p.y) * p.km_per_unit_y;
    let bx = (f64::from(b[0]) - p.x) * p.km_per_unit_x;
    let by = (f64::from(b[1]) - p.y) * p.km_per_unit_y;
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    };
    (ax + t * dx).hypot(ay + t * dy)
}

const GRID_W: usize = 360;
const GRID_H: usize = 180;

fn cell_index(lng: f64, lat: f64) -> usize {
    let ix = ((lng + 180.0).floor() as usize).min(GRID_W - 1);
    let iy = ((lat + 90.0).floor() as usize).min(GRID_H - 1);
    iy * GRID_W + ix
}

/// The cells each part's bounding box, widened by the tolerance, touches.
fn cell_ranges(part: &Part) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let [min_x, min_y, max_x, max_y] = part.bbox.map(|v| f64::from(v) / SCALE);
    let pad_lat = TOLERANCE_KM / KM_PER_DEGREE;
    // Longitude degrees shrink towards the poles; pad for the box's widest latitude.
    let widest = min_y.abs().max(max_y.abs()).min(89.0);
    let pad_lng = TOLERANCE_KM / (KM_PER_DEGREE * widest.to_radians().cos());
    let col = |lng: f64| ((lng + 180.0).floor().clamp(0.0, (GRID_W - 1) as f64)) as usize;
    let row = |lat: f64| ((lat + 90.0).floor().clamp(0.0, (GRID_H - 1) as f64)) as usize;
    (
        col(min_x - pad_lng)..col(max_x + pad_lng) + 1,
        row(min_y - pad_lat)..row(max_y + pad_lat) + 1,
    )
}

/// Builds the cell → parts lists (a counting sort: count, prefix-sum, fill).
fn grid(parts: &[Part]) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; GRID_W * GRID_H + 1];
    for part in parts {
        let (cols, rows) = cell_ranges(part);
        for row in rows {
            for col in cols.clone() {
                start[row * GRID_W + col + 1] += 1;
            }
        }
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut fill = start.clone();
    let mut entries = vec![0u32; start[GRID_W * GRID_H] as usize];
    for (index, part) in parts.iter().enumerate() {
        let (cols, rows) = cell_ranges(part);
        for row in rows {
            for col in cols.clone() {
                let cell = row * GRID_W + col;
                entries[fill[cell] as usize] = index as u32;
                fill[cell] += 1;
            }
        }
    }
    (start, entries)
}
