//! Mutations that know nothing of the format: flipped bits, odd bytes, little-endian
//! boundary integers (what breaks a zip header's sizes and offsets), inserted,
//! deleted, repeated and spliced ranges, cut tails.

use super::MAX_INPUT;
use crate::rng::Rng;

/// Bytes that mean something to one of the parsers.
const SPECIAL_BYTES: &[u8] = &[
    0x00, 0xFF, 0x7F, 0x80, 0xC0, 0xED, 0xEF, b'"', b',', b';', b'\t', b'\n', b'\r', b'<', b'>',
    b'&', b'=', b'/', b'0', b'9', b'A', b'Z',
];

/// Integers at the edges of what a header field holds.
const BOUNDARIES: &[u64] = &[
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
    0x1_0000_0000,
    u64::MAX,
];

/// Applies one byte-level mutation; returns what it did.
pub fn mutate(bytes: &mut Vec<u8>, donor: &[u8], rng: &mut Rng) -> &'static str {
    if bytes.is_empty() {
        bytes.extend((0..rng.size(6)).map(|_| rng.byte()));
        return "bytes: filled an empty file";
    }
    match rng.below(9) {
        0 => {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
            "bytes: flipped a bit"
        }
        1 => {
            let at = rng.below(bytes.len());
            bytes[at] = *rng.pick(SPECIAL_BYTES);
            "bytes: set a special byte"
        }
        2 => {
            let at = rng.below(bytes.len());
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            let value = *rng.pick(BOUNDARIES);
            let value = if rng.one_in(2) {
                value
            } else {
                value.wrapping_add(rng.below(3) as u64).wrapping_sub(1)
            };
            let le = value.to_le_bytes();
            let end = (at + width).min(bytes.len());
            bytes[at..end].copy_from_slice(&le[..end - at]);
            "bytes: wrote a boundary integer"
        }
        3 => {
            let at = rng.below(bytes.len() + 1);
            let n = rng.size(8);
            let fill: Vec<u8> = if rng.one_in(2) {
                (0..n).map(|_| rng.byte()).collect()
            } else {
                vec![*rng.pick(SPECIAL_BYTES); n]
            };
            insert(bytes, at, &fill);
            "bytes: inserted bytes"
        }
        4 => {
            let (start, end) = range(bytes.len(), rng);
            bytes.drain(start..end);
            "bytes: deleted a range"
        }
        5 => {
            let (start, end) = range(bytes.len(), rng);
            let copies = if rng.one_in(4) { rng.size(10) } else { 1 };
            let room = MAX_INPUT.saturating_sub(bytes.len()) / (end - start).max(1);
            let piece = bytes[start..end].repeat(copies.min(room));
            insert(bytes, end, &piece);
            "bytes: repeated a range"
        }
        6 => {
            let at = rng.below(bytes.len());
            bytes.truncate(at);
            "bytes: cut the tail"
        }
        7 if !donor.is_empty() => {
            let (start, end) = range(donor.len(), rng);
            let at = rng.below(bytes.len() + 1);
            if rng.one_in(2) && at + (end - start) <= bytes.len() {
                bytes[at..at + (end - start)].copy_from_slice(&donor[start..end]);
            } else {
                insert(bytes, at, &donor[start..end]);
            }
            "bytes: spliced in part of another file"
        }
        _ => {
            let (start, end) = range(bytes.len(), rng);
            bytes[start..end].reverse();
            "bytes: reversed a range"
        }
    }
}

/// A range of a buffer of `len > 0` bytes: usually short, sometimes long.
fn range(len: usize, rng: &mut Rng) -> (usize, usize) {
    let start = rng.below(len);
    let end = (start + rng.size(12)).min(len);
    (start, end)
}

/// Inserts `piece` at `at`, unless the file would pass [`MAX_INPUT`].
pub fn insert(bytes: &mut Vec<u8>, at: usize, piece: &[u8]) {
    if bytes.len() + piece.len() <= MAX_INPUT {
        bytes.splice(at..at, piece.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_mutations_keep_files_within_the_size_cap() {
        let mut bytes = vec![b'x'; MAX_INPUT - 10];
        let donor = vec![b'y'; 100_000];
        for case in 0..300 {
            let mut rng = Rng::for_case(3, case);
            mutate(&mut bytes, &donor, &mut rng);
            assert!(bytes.len() <= MAX_INPUT);
            if bytes.is_empty() {
                bytes.push(b'x');
            }
        }
    }
}
