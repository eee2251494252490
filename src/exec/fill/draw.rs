//! The seeded generator the probability knobs draw from.
//!
//! Randomness inside a stage is allowed only here, and only as a pure function of the
//! seed and the draws before it: the generator (PCG, `rand_pcg`) and its position are part
//! of the execution snapshot, and a restart that replays the journal from the start seeds
//! it again from the configured seed, so either way the same events draw the same numbers.
//! A probability of 0 or 1 draws nothing, so the knobs off cost nothing and leave the
//! generator untouched.

use super::PPM;
use rand::Rng as _;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The generator, its seed, and how many numbers it has drawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draws {
    seed: u64,
    drawn: u64,
    rng: Pcg64Mcg,
}

impl Draws {
    /// A generator at the start of the stream of `seed`.
    pub fn new(seed: u64) -> Draws {
        Draws { seed, drawn: 0, rng: Pcg64Mcg::seed_from_u64(seed) }
    }

    /// The seed it was started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Numbers drawn so far.
    pub fn drawn(&self) -> u64 {
        self.drawn
    }

    /// A whole number from 0 to `max`, uniform (0 without a draw when `max` is 0).
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        self.drawn += 1;
        self.rng.next_u64() % (max.saturating_add(1))
    }

    /// True with probability `ppm` / 1,000,000.
    pub fn chance(&mut self, ppm: u32) -> bool {
        if ppm == 0 {
            return false;
        }
        if ppm >= PPM {
            return true;
        }
        self.drawn += 1;
        self.rng.next_u64() % u64::from(PPM) < u64::from(ppm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_and_a_copy_continues_the_stream() {
        let mut a = Draws::new(7);
        let mut b = Draws::new(7);
        let xs: Vec<bool> = (0..64).map(|_| a.chance(PPM / 2)).collect();
        let ys: Vec<bool> = (0..64).map(|_| b.chance(PPM / 2)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().any(|&x| x) && xs.iter().any(|&x| !x), "a fair coin shows both sides");
        let mut c = a.clone();
        assert_eq!(a.chance(PPM / 2), c.chance(PPM / 2));
        assert_eq!(a.drawn(), 65);
        // Certain and impossible draw nothing.
        assert!(!a.chance(0) && a.chance(PPM) && a.drawn() == 65);
        // The snapshot form (postcard) restores the same position.
        let bytes = postcard::to_stdvec(&a).unwrap();
        let mut d: Draws = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(
            (0..16).map(|_| d.chance(1000)).collect::<Vec<_>>(),
            (0..16).map(|_| a.chance(1000)).collect::<Vec<_>>()
        );
        assert_ne!(Draws::new(8), Draws::new(7));
    }

    #[test]
    fn a_probability_is_honoured_roughly() {
        let mut d = Draws::new(1);
        let hits = (0..10_000).filter(|_| d.chance(PPM / 10)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
