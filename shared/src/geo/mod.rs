//! The region plausibility check: is a row's point in the country or province its
//! sheet names? Pure and offline: the boundary data is compiled in.
//!
//! The rule: a row whose region cell (`Region`, `Province`, `State`, `Country`; see
//! [`region_columns`]) names an area the data knows, and whose point is neither inside
//! that area nor within [`TOLERANCE_KM`] of it, gets a `check` warning with
//! [`Outside`]'s message — never a silent success. The usual causes are coordinates
//! with latitude and longitude swapped (the message says so when the swapped point
//! fits), a pin dropped in the sea, and a link copied from another row. A region name
//! the data does not know is not a row's fault: it is listed once per run
//! ([`RegionIndex::unknown_regions`]).
//!
//! Names are matched loosely ([`key`]: case, accents, hyphens, spaces; [`names`]:
//! ISO codes, English and local names, common aliases). Areas are every country and
//! the first-level subdivisions of most countries — South Africa's nine provinces,
//! US states, German Länder, … — from Natural Earth ([`boundaries`]).
//!
//! ```
//! use maplink::geo::{RegionIndex, Verdict, region_columns};
//! use maplink::links::Coordinates;
//!
//! let header = ["Name", "Region", "Maps link"].map(String::from);
//! assert_eq!(region_columns(&header), [1]);
//! let index = RegionIndex::new(["Gauteng", "Western Cape"]);
//! let cape_town = Coordinates::new(-33.9249, 18.4241).unwrap();
//! let verdict = index.check("Gauteng", cape_town);
//! assert_eq!(
//!     verdict.message().as_deref(),
//!     Some("point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)")
//! );
//! ```

mod boundaries;
mod columns;
mod format;
#[cfg(test)]
mod generate;
mod key;
mod names;
mod outlines;
mod region_index;
#[cfg(test)]
mod tests;

pub use boundaries::TOLERANCE_KM;
pub use columns::region_columns;
pub use outlines::outlines_geojson;
pub use region_index::{Area, Outside, RegionIndex, Verdict};

/// Loads the boundary data and the name index now rather than on the first check
/// (about 20 ms), e.g. at process start so the first job does not pay for it.
pub fn preload() {
    let _ = names::names();
}
