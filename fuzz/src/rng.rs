//! A small deterministic generator (SplitMix64). Every input is made from its own
//! generator, seeded by the run's seed and the input's case number, so that case `K` of
//! seed `N` is rebuilt alone, bit for bit, on any machine: `--seed N --case K`.

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The generator of one case: independent of every other case of the run.
    pub fn for_case(seed: u64, case: u64) -> Self {
        let mut mixer = Rng(seed);
        let base = mixer.next_u64();
        let mut rng = Rng(base ^ case.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// A size that is usually small and sometimes large: `2^k` for k in 0..=`max_bits`,
    /// plus a little.
    pub fn size(&mut self, max_bits: u32) -> usize {
        let bits = self.below(max_bits as usize + 1);
        (1usize << bits) + self.below(1usize << bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_rebuilt_from_its_seed_and_number_alone() {
        let first: Vec<u64> = (0..4).map(|_| Rng::for_case(7, 42).next_u64()).collect();
        assert!(first.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_case(7, 42).next_u64(),
            Rng::for_case(7, 43).next_u64()
        );
        assert_ne!(
            Rng::for_case(7, 42).next_u64(),
            Rng::for_case(8, 42).next_u64()
        );
    }

    #[test]
    fn numbers_stay_in_their_range() {
        let mut rng = Rng::for_case(1, 1);
        for _ in 0..1000 {
            assert!(rng.below(3) < 3);
            assert!((5..=9).contains(&rng.between(5, 9)));
        }
        assert_eq!(rng.below(0), 0);
    }
}
