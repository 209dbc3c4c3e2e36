//! A small deterministic generator (SplitMix64). Every input is made from its own generator,
//! seeded by the run's seed, the target's name and the input's index, so any input of a run can
//! be made again on its own (`--seed S --target T --iter I`).

/// SplitMix64: fast, tiny, and good enough to choose mutations (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator of input `iter` of `target` in a run seeded with `seed`.
    pub fn for_input(seed: u64, target: &str, iter: u64) -> Rng {
        Rng(mix(seed ^ mix(fnv1a(target.as_bytes()) ^ mix(iter))))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// An `i64` biased towards the values parsers get wrong: the ends of the range, zero, ±1,
    /// and timestamps near the vectors' `now`.
    pub fn interesting_i64(&mut self) -> i64 {
        match self.below(8) {
            0 => *self.pick(&[i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1, 0, 1, -1]),
            1 => self.next_u64() as i64,
            2 => (self.next_u64() % 2_000) as i64 - 1_000,
            3 => 1_800_000_000 + (self.next_u64() % 4_000) as i64 - 2_000,
            4 => *self.pick(&[u32::MAX as i64, i32::MIN as i64, 1 << 53, -(1 << 53), 9_007_199_254_740_993]),
            _ => 1_800_000_000 + (self.next_u64() % 700) as i64 - 350,
        }
    }
}

/// SplitMix64's finalizer: a bijection that spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of `bytes`, to fold a target's name into its seed.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
