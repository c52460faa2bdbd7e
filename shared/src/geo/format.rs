//! The byte layout of `data/boundaries.bin`, read here and written by the generator.
//!
//! The file is raw-deflate compressed. Inside: the magic `MLGEO1`, then
//!
//! - countries: count, then per country `alpha2`, `alpha3`, `name`, aliases;
//! - subdivisions: count, then per subdivision its country's index, `code` (ISO
//!   3166-2), `name`, aliases;
//! - polygons: count, then per polygon its country's index, its subdivision's index
//!   plus one (0 for none), its ring count, and per ring the vertex count and the
//!   vertices as (longitude, latitude) steps from the previous vertex (from 0, 0 for
//!   the first of each polygon), in units of 1e-4 degree ([`UNITS_PER_DEGREE`]).
//!
//! Counts and indexes are LEB128 varints, steps zigzag-encoded varints, strings a
//! varint length and UTF-8, aliases a count and strings. Delta-encoding keeps most
//! steps to two bytes per coordinate.

use std::fmt;

pub(super) const MAGIC: &[u8] = b"MLGEO1";

/// Stored coordinates are integers in units of 1e-4 degree (about 11 m): far finer than
/// the boundaries' own precision (see [`super::TOLERANCE_KM`]), and steps of a few
/// hundred units between vertices keep each to two bytes.
pub(super) const UNITS_PER_DEGREE: f64 = 1e4;

/// A malformed data file (a build defect: the file is generated and embedded).
#[derive(Debug)]
pub(super) struct Error(pub &'static str);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed boundary data: {}", self.0)
    }
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub(super) fn magic(&mut self) -> Result<(), Error> {
        if !self.bytes.starts_with(MAGIC) {
            return Err(Error("bad magic"));
        }
        self.at = MAGIC.len();
        Ok(())
    }

    pub(super) fn end(&self) -> Result<(), Error> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(Error("trailing bytes"))
        }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or(Error("truncated"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error("varint too long"))
    }

    pub(super) fn count(&mut self) -> Result<usize, Error> {
        usize::try_from(self.varint()?).map_err(|_| Error("count too large"))
    }

    pub(super) fn index(&mut self, len: usize) -> Result<u16, Error> {
        let i = self.count()?;
        if i >= len {
            return Err(Error("index out of range"));
        }
        u16::try_from(i).map_err(|_| Error("index too large"))
    }

    pub(super) fn signed(&mut self) -> Result<i32, Error> {
        let z = self.varint()?;
        let v = ((z >> 1) as i64) ^ -((z & 1) as i64);
        i32::try_from(v).map_err(|_| Error("step too large"))
    }

    pub(super) fn string(&mut self) -> Result<String, Error> {
        let len = self.count()?;
        let end = self.at.checked_add(len).ok_or(Error("truncated"))?;
        let bytes = self.bytes.get(self.at..end).ok_or(Error("truncated"))?;
        self.at = end;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error("string is not UTF-8"))
    }

    pub(super) fn strings(&mut self) -> Result<Vec<String>, Error> {
        (0..self.count()?).map(|_| self.string()).collect()
    }
}

/// The generator's side of the layout.
#[cfg(test)]
#[derive(Default)]
pub(super) struct Writer {
    pub bytes: Vec<u8>,
}

#[cfg(test)]
impl Writer {
    pub(super) fn new() -> Self {
        Self {
            bytes: MAGIC.to_vec(),
        }
    }

    pub(super) fn count(&mut self, mut value: usize) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }

    pub(super) fn signed(&mut self, value: i32) {
        let z = ((value << 1) ^ (value >> 31)) as u32;
        self.count(z as usize);
    }

    pub(super) fn string(&mut self, s: &str) {
        self.count(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    pub(super) fn strings(&mut self, list: &[String]) {
        self.count(list.len());
        for s in list {
            self.string(s);
        }
    }
}
