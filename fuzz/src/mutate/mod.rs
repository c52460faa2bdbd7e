//! Building one input: a seed file, then one to a few mutations, each chosen by what
//! the bytes are at that moment — an .xlsx that still unpacks gets structure-aware
//! mutations (its XML parts, its zip), text gets CSV mutations, and anything may get
//! plain byte mutations. Sometimes the file is named for the other format, as a
//! user may upload an .xlsx named `.csv`.
//!
//! Inputs stay under [`MAX_INPUT`]: the API takes up to 16 MiB, but 1 MiB reaches
//! the same code, and the limits that bigger files meet have their own tests.

mod bytes;
mod csv_text;
mod words;
mod xlsx;

use maplink::domain::FileFormat;

use crate::{corpus::Seed, rng::Rng};

/// The largest input built (and the largest part of an .xlsx).
pub const MAX_INPUT: usize = 1024 * 1024;

/// A mutated file and how it was made.
#[derive(Clone, Debug)]
pub struct Input {
    pub format: FileFormat,
    pub bytes: Vec<u8>,
    pub seed: String,
    pub steps: Vec<String>,
}

/// Builds the input `rng` describes from `seeds`.
pub fn input(seeds: &[Seed], rng: &mut Rng) -> Input {
    let seed = rng.pick(seeds);
    let donor = &rng.pick(seeds).bytes;
    let mut input = Input {
        format: seed.format,
        bytes: seed.bytes.clone(),
        seed: seed.name.clone(),
        steps: Vec::new(),
    };
    if rng.one_in(40) {
        input.format = match input.format {
            FileFormat::Xlsx => FileFormat::Csv,
            FileFormat::Csv => FileFormat::Xlsx,
        };
        input.steps.push("named for the other format".into());
    }
    let rounds = if rng.one_in(8) {
        rng.between(4, 10)
    } else {
        rng.between(1, 3)
    };
    for _ in 0..rounds {
        let step = if input.bytes.starts_with(b"PK") && !rng.one_in(5) {
            xlsx::mutate(&mut input.bytes, rng)
        } else if !input.bytes.starts_with(b"PK") && !rng.one_in(3) {
            Some(csv_text::mutate(&mut input.bytes, rng).to_owned())
        } else {
            None
        };
        let step = step.unwrap_or_else(|| bytes::mutate(&mut input.bytes, donor, rng).to_owned());
        input.steps.push(step);
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_case_builds_the_same_input() {
        let seeds = crate::corpus::seeds();
        for case in 0..50 {
            let a = input(&seeds, &mut Rng::for_case(9, case));
            let b = input(&seeds, &mut Rng::for_case(9, case));
            assert_eq!(a.bytes, b.bytes, "case {case}");
            assert_eq!(a.steps, b.steps);
            assert!(a.bytes.len() <= MAX_INPUT);
        }
    }
}
