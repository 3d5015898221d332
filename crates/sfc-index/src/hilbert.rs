//! Hilbert curves in 2-D and 3-D, driven by state tables built at compile time.
//!
//! The curve follows the Gray-code formulation of Hamilton and Rau-Chaplin
//! ("Compact Hilbert indices", 2008): a cell's orientation is an entry corner `e` and
//! a direction axis `d`, and each level maps the cell's octant to a digit and the
//! child's orientation. Those (e, d) pairs that the curve reaches are numbered as
//! states, and the per-bit step is folded into look-up tables that consume several
//! bits per dimension at once: 4 in 2-D (a 2 KiB table) and 3 in 3-D (12 KiB).
//!
//! Every curve here is the corner of the largest curve (32 bits per dimension in
//! 2-D, 21 in 3-D) that starts at the origin. A lower order is that curve restricted
//! to the first `2^order` cells of each axis, which is itself a Hilbert curve of that
//! order. So a cell's index does not depend on the order, and leading zero bits can
//! be skipped in whole table steps: from the root state, a zero octant only turns the
//! direction axis, which comes back after D steps, and D divides each table step.

use crate::decompose::{self, Tree};
use crate::zorder::{compact2, compact3, spread2, spread3};
use crate::{Box2, Box3, Budget, Curve2, Curve3, Decomposition, Error, check_coords};

/// The most states a D ≤ 3 curve can have: 2^D entry corners × D direction axes.
const MAX_STATES: usize = 24;

/// The per-bit state machine of one curve.
#[derive(Clone, Copy)]
struct StateTable {
    /// How many states the curve reaches from state 0.
    count: usize,
    /// `[state][octant]` → (digit, next state).
    enc: [[(u8, u8); 8]; MAX_STATES],
    /// `[state][digit]` → (octant, next state).
    dec: [[(u8, u8); 8]; MAX_STATES],
}

/// The Gray code of `i`.
const fn gray(i: u32) -> u32 {
    i ^ (i >> 1)
}

/// The inverse of [`gray`].
const fn gray_inverse(g: u32) -> u32 {
    let mut i = g;
    let mut shift = 1;
    while shift < 32 {
        i ^= i >> shift;
        shift <<= 1;
    }
    i
}

/// Rotates the low `n` bits of `x` left by `r` (0 ≤ r < n).
const fn rotate_left(x: u32, r: u32, n: u32) -> u32 {
    let mask = (1 << n) - 1;
    if r == 0 {
        x & mask
    } else {
        ((x << r) | (x >> (n - r))) & mask
    }
}

/// Rotates the low `n` bits of `x` right by `r` (0 ≤ r < n).
const fn rotate_right(x: u32, r: u32, n: u32) -> u32 {
    let mask = (1 << n) - 1;
    if r == 0 {
        x & mask
    } else {
        ((x >> r) | (x << (n - r))) & mask
    }
}

/// The entry corner of the sub-cell visited `w`-th.
const fn entry(w: u32) -> u32 {
    if w == 0 { 0 } else { gray(2 * ((w - 1) / 2)) }
}

/// The direction axis of the sub-cell visited `w`-th, in `n` dimensions.
const fn direction(w: u32, n: u32) -> u32 {
    if w == 0 {
        0
    } else if w & 1 == 0 {
        (!(w - 1)).trailing_zeros() % n
    } else {
        (!w).trailing_zeros() % n
    }
}

/// One step from orientation (e, d) once the child's digit `w` is known.
const fn next_orientation(e: u32, d: u32, w: u32, n: u32) -> (u32, u32) {
    let r = (d + 1) % n;
    (
        e ^ rotate_left(entry(w), r, n),
        (d + direction(w, n) + 1) % n,
    )
}

/// Finds the state number of orientation (e, d), adding it if new.
const fn state_id(
    es: &mut [u32; MAX_STATES],
    ds: &mut [u32; MAX_STATES],
    count: &mut usize,
    e: u32,
    d: u32,
) -> u8 {
    let mut i = 0;
    while i < *count {
        if es[i] == e && ds[i] == d {
            return i as u8;
        }
        i += 1;
    }
    es[*count] = e;
    ds[*count] = d;
    *count += 1;
    (*count - 1) as u8
}

/// Builds the state machine of the `n`-dimensional curve (n = 2 or 3).
const fn build_state_table(n: u32) -> StateTable {
    let mut es = [0u32; MAX_STATES];
    let mut ds = [0u32; MAX_STATES];
    let mut count = 1;
    let mut table = StateTable {
        count: 0,
        enc: [[(0, 0); 8]; MAX_STATES],
        dec: [[(0, 0); 8]; MAX_STATES],
    };
    let mut s = 0;
    // Breadth-first over reachable states; `count` grows as new ones are found.
    while s < count {
        let (e, d) = (es[s], ds[s]);
        let r = (d + 1) % n;
        let mut w = 0;
        while w < (1 << n) {
            // The octant whose transformed label is gray(w).
            let octant = rotate_left(gray(w), r, n) ^ e;
            debug_assert!(gray_inverse(rotate_right(octant ^ e, r, n)) == w);
            let (ne, nd) = next_orientation(e, d, w, n);
            let next = state_id(&mut es, &mut ds, &mut count, ne, nd);
            table.enc[s][octant as usize] = (w as u8, next);
            table.dec[s][w as usize] = (octant as u8, next);
            w += 1;
        }
        s += 1;
    }
    table.count = count;
    table
}

const H2: StateTable = build_state_table(2);
const H3: StateTable = build_state_table(3);
const H2_STATES: usize = H2.count;
const H3_STATES: usize = H3.count;
/// The state tables in memory, for look-ups at run time (a `const` may be copied per use).
static H2_TABLE: StateTable = H2;
static H3_TABLE: StateTable = H3;

/// Bits per dimension consumed by one 2-D table step.
const STEP2: u32 = 4;
/// Bits per dimension consumed by one 3-D table step.
const STEP3: u32 = 3;

/// 2-D encode table: index `state << 8 | octants8` (four 2-bit octants, highest first,
/// x in the low bit of each), entry `next_state << 8 | digits8`.
static H2_ENC: [u16; H2_STATES << 8] = build_steps(&H2.enc, 2, STEP2);
/// 2-D decode table: index `state << 8 | digits8`, entry `next_state << 8 | octants8`.
static H2_DEC: [u16; H2_STATES << 8] = build_steps(&H2.dec, 2, STEP2);
/// 3-D encode table: index `state << 9 | octants9` (three 3-bit octants, highest first,
/// x in the low bit of each), entry `next_state << 9 | digits9`.
static H3_ENC: [u16; H3_STATES << 9] = build_steps(&H3.enc, 3, STEP3);
/// 3-D decode table: index `state << 9 | digits9`, entry `next_state << 9 | octants9`.
static H3_DEC: [u16; H3_STATES << 9] = build_steps(&H3.dec, 3, STEP3);

/// A table of `steps` transitions at once, from the one-step `transitions` of a curve in
/// `dims` dimensions (its encode or its decode half): index `state << w | input`, where the
/// input holds `steps` symbols of `dims` bits, highest first, and `w = dims * steps`;
/// entry `next_state << w | output`, the `steps` output symbols in the same layout.
const fn build_steps<const L: usize>(
    transitions: &[[(u8, u8); 8]; MAX_STATES],
    dims: u32,
    steps: u32,
) -> [u16; L] {
    let width = dims * steps;
    let symbol = (1usize << dims) - 1;
    let mut out = [0u16; L];
    let mut i = 0;
    while i < L {
        let (mut state, input) = (i >> width, i & ((1 << width) - 1));
        let mut output = 0;
        let mut step = steps;
        while step > 0 {
            step -= 1;
            let (sym, next) = transitions[state][(input >> (dims * step)) & symbol];
            output = (output << dims) | sym as usize;
            state = next as usize;
        }
        out[i] = ((state << width) | output) as u16;
        i += 1;
    }
    out
}

/// Runs `N` 2-D table steps over the octant bytes of `z` (its low `8 * N` bits), from
/// `table`, starting at the root state; returns the output bytes.
///
/// The loop has a fixed count so that it unrolls: a data-dependent count measured
/// 1.6 times slower. The state is kept in place (`state << 8`), so the serial chain
/// from one look-up to the next is one mask and one or.
#[inline]
fn steps2<const N: u32>(table: &[u16; H2_STATES << 8], z: u64) -> u64 {
    let mut state = 0usize;
    let mut out = 0u64;
    let mut k = N;
    while k > 0 {
        k -= 1;
        // The mask keeps the look-up in bounds for the compiler; states are < H2_STATES.
        let entry = table[(state | ((z >> (8 * k)) & 0xFF) as usize) & ((H2_STATES << 8) - 1)];
        out = (out << 8) | u64::from(entry & 0xFF);
        state = usize::from(entry & 0xFF00);
    }
    out
}

/// The 2-D Hilbert index of `(x, y)` on the 32-bit curve.
///
/// The coordinates are interleaved first (Z-order), so each table step reads one byte
/// of four octants. Coordinates below 2^16 skip the top half: from the root state,
/// zero octants come back to the root after an even number of steps.
#[inline]
fn encode2(x: u32, y: u32) -> u64 {
    let z = spread2(x) | (spread2(y) << 1);
    if z >> 32 == 0 {
        steps2::<4>(&H2_ENC, z)
    } else {
        steps2::<8>(&H2_ENC, z)
    }
}

/// The cell of 2-D Hilbert index `h` on the 32-bit curve.
#[inline]
fn decode2(h: u64) -> (u32, u32) {
    let z = if h >> 32 == 0 {
        steps2::<4>(&H2_DEC, h)
    } else {
        steps2::<8>(&H2_DEC, h)
    };
    (compact2(z), compact2(z >> 1))
}

/// Runs `N` 3-D table steps over the octant triples of `z` (its low `9 * N` bits), as
/// [`steps2`] does in 2-D.
#[inline]
fn steps3<const N: u32>(table: &[u16; H3_STATES << 9], z: u64) -> u64 {
    let mut state = 0usize;
    let mut out = 0u64;
    let mut k = N;
    while k > 0 {
        k -= 1;
        // In bounds: states are < H3_STATES, and the octants fill the low 9 bits.
        let entry = table[(state << 9) | ((z >> (9 * k)) & 0x1FF) as usize];
        out = (out << 9) | u64::from(entry & 0x1FF);
        state = usize::from(entry >> 9);
    }
    out
}

/// The 3-D Hilbert index of `(x, y, z)` on the 21-bit curve (coordinates above 21
/// bits are truncated). Coordinates below 2^12 skip the top three steps: from the root
/// state, zero octants come back to the root after every third step.
#[inline]
fn encode3(x: u32, y: u32, z: u32) -> u64 {
    let octants = spread3(x) | (spread3(y) << 1) | (spread3(z) << 2);
    if octants >> 36 == 0 {
        steps3::<4>(&H3_ENC, octants)
    } else {
        steps3::<7>(&H3_ENC, octants)
    }
}

/// The cell of 3-D Hilbert index `h` on the 21-bit curve (bit 63 is ignored).
#[inline]
fn decode3(h: u64) -> (u32, u32, u32) {
    let h = h & ((1 << 63) - 1);
    let o = if h >> 36 == 0 {
        steps3::<4>(&H3_DEC, h)
    } else {
        steps3::<7>(&H3_DEC, h)
    };
    (compact3(o), compact3(o >> 1), compact3(o >> 2))
}

/// Hilbert's tree in `D` dimensions: the per-bit state table.
struct HTree<const D: usize>;

impl Tree<2> for HTree<2> {
    const BITS: u32 = 32;
    const ROOT_STATE: u8 = 0;

    #[inline]
    fn child(state: u8, digit: u32) -> (u32, u8) {
        let (octant, next) = H2_TABLE.dec[usize::from(state) % MAX_STATES][digit as usize & 7];
        (u32::from(octant), next)
    }

    #[inline]
    fn locate(state: u8, octant: u32) -> (u32, u8) {
        let (digit, next) = H2_TABLE.enc[usize::from(state) % MAX_STATES][octant as usize & 7];
        (u32::from(digit), next)
    }
}

impl Tree<3> for HTree<3> {
    const BITS: u32 = 21;
    const ROOT_STATE: u8 = 0;

    #[inline]
    fn child(state: u8, digit: u32) -> (u32, u8) {
        let (octant, next) = H3_TABLE.dec[usize::from(state) % MAX_STATES][digit as usize & 7];
        (u32::from(octant), next)
    }

    #[inline]
    fn locate(state: u8, octant: u32) -> (u32, u8) {
        let (digit, next) = H3_TABLE.enc[usize::from(state) % MAX_STATES][octant as usize & 7];
        (u32::from(digit), next)
    }
}

/// A 2-D Hilbert curve of a given order: `2^order × 2^order` cells, order 1..=32.
///
/// Consecutive indexes are always neighbouring cells. The curve starts at `(0, 0)`,
/// and a cell's index is the same for every order that holds the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "HilbertOrder", into = "HilbertOrder")
)]
pub struct Hilbert2 {
    bits: u32,
}

/// A 3-D Hilbert curve of a given order: `2^order` cells per axis, order 1..=21.
///
/// Consecutive indexes are always neighbouring cells. The curve starts at
/// `(0, 0, 0)`, and a cell's index is the same for every order that holds the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "HilbertOrder", into = "HilbertOrder")
)]
pub struct Hilbert3 {
    bits: u32,
}

/// The serialized form of a Hilbert curve: its order.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct HilbertOrder {
    bits_per_dim: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<HilbertOrder> for Hilbert2 {
    type Error = Error;
    fn try_from(o: HilbertOrder) -> Result<Self, Error> {
        Self::new(o.bits_per_dim)
    }
}

#[cfg(feature = "serde")]
impl From<Hilbert2> for HilbertOrder {
    fn from(h: Hilbert2) -> Self {
        Self {
            bits_per_dim: h.bits,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<HilbertOrder> for Hilbert3 {
    type Error = Error;
    fn try_from(o: HilbertOrder) -> Result<Self, Error> {
        Self::new(o.bits_per_dim)
    }
}

#[cfg(feature = "serde")]
impl From<Hilbert3> for HilbertOrder {
    fn from(h: Hilbert3) -> Self {
        Self {
            bits_per_dim: h.bits,
        }
    }
}

impl Hilbert2 {
    /// The largest order: 32 bits per dimension, 64 in all.
    pub const MAX_BITS: u32 = 32;

    /// A curve with `bits_per_dim` bits per dimension (1..=32).
    pub fn new(bits_per_dim: u32) -> Result<Self, Error> {
        if bits_per_dim == 0 || bits_per_dim > Self::MAX_BITS {
            return Err(Error::InvalidOrder {
                curve: "Hilbert2",
                bits: bits_per_dim,
                max: Self::MAX_BITS,
            });
        }
        Ok(Self { bits: bits_per_dim })
    }

    /// The order: bits per dimension.
    pub fn bits_per_dim(&self) -> u32 {
        self.bits
    }

    /// The largest coordinate on each axis: `2^order - 1`.
    pub fn max_coord(&self) -> u32 {
        (((1u64) << self.bits) - 1) as u32
    }

    /// The last index: `4^order - 1`.
    pub fn max_index(&self) -> u64 {
        u64::MAX >> (64 - 2 * self.bits)
    }
}

impl Hilbert3 {
    /// The largest order: 21 bits per dimension, 63 in all.
    pub const MAX_BITS: u32 = 21;

    /// A curve with `bits_per_dim` bits per dimension (1..=21).
    pub fn new(bits_per_dim: u32) -> Result<Self, Error> {
        if bits_per_dim == 0 || bits_per_dim > Self::MAX_BITS {
            return Err(Error::InvalidOrder {
                curve: "Hilbert3",
                bits: bits_per_dim,
                max: Self::MAX_BITS,
            });
        }
        Ok(Self { bits: bits_per_dim })
    }

    /// The order: bits per dimension.
    pub fn bits_per_dim(&self) -> u32 {
        self.bits
    }

    /// The largest coordinate on each axis: `2^order - 1`.
    pub fn max_coord(&self) -> u32 {
        (1u32 << self.bits) - 1
    }

    /// The last index: `8^order - 1`.
    pub fn max_index(&self) -> u64 {
        u64::MAX >> (64 - 3 * self.bits)
    }
}

impl Curve2 for Hilbert2 {
    #[inline]
    fn encode(&self, x: u32, y: u32) -> u64 {
        encode2(x, y)
    }

    #[inline]
    fn decode(&self, index: u64) -> (u32, u32) {
        decode2(index)
    }

    fn try_encode(&self, x: u32, y: u32) -> Result<u64, Error> {
        check_coords([x, y], self.max_coord())?;
        Ok(encode2(x, y))
    }

    fn try_decode(&self, index: u64) -> Result<(u32, u32), Error> {
        if index > self.max_index() {
            return Err(Error::IndexOutOfRange {
                index,
                max: self.max_index(),
            });
        }
        Ok(decode2(index))
    }

    fn ranges(&self, query: &Box2, budget: Budget) -> Result<Decomposition, Error> {
        query.validate()?;
        check_coords(query.max, self.max_coord())?;
        Ok(decompose::decompose::<2, HTree<2>>(
            query.min, query.max, budget,
        ))
    }
}

impl Curve3 for Hilbert3 {
    #[inline]
    fn encode(&self, x: u32, y: u32, z: u32) -> u64 {
        encode3(x, y, z)
    }

    #[inline]
    fn decode(&self, index: u64) -> (u32, u32, u32) {
        decode3(index)
    }

    fn try_encode(&self, x: u32, y: u32, z: u32) -> Result<u64, Error> {
        check_coords([x, y, z], self.max_coord())?;
        Ok(encode3(x, y, z))
    }

    fn try_decode(&self, index: u64) -> Result<(u32, u32, u32), Error> {
        if index > self.max_index() {
            return Err(Error::IndexOutOfRange {
                index,
                max: self.max_index(),
            });
        }
        Ok(decode3(index))
    }

    fn ranges(&self, query: &Box3, budget: Budget) -> Result<Decomposition, Error> {
        query.validate()?;
        check_coords(query.max, self.max_coord())?;
        Ok(decompose::decompose::<3, HTree<3>>(
            query.min, query.max, budget,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_counts() {
        // The 2-D curve has 4 orientations; the 3-D one 12.
        assert_eq!(H2_STATES, 4);
        assert_eq!(H3_STATES, 12);
    }

    #[test]
    fn zero_octant_from_root_cycles_within_a_step() {
        // Skipping leading zero table steps relies on this.
        let mut s = 0u8;
        for _ in 0..STEP2 {
            s = H2.enc[usize::from(s)][0].1;
        }
        assert_eq!(s, 0);
        let mut s = 0u8;
        for _ in 0..STEP3 {
            s = H3.enc[usize::from(s)][0].1;
        }
        assert_eq!(s, 0);
        assert_eq!(H2.enc[0][0].0, 0);
        assert_eq!(H3.enc[0][0].0, 0);
    }
}
