//! `tessera index encode|ranges`: key indexes over key bounds, from the command line.
//!
//! `--bounds` and `--query` are key bounds: `C0,R0,C1,R1` for spatial keys (signed columns
//! and rows, inclusive) and `C0,R0,C1,R1,T0,T1` for space-time keys (instants in epoch
//! milliseconds, inclusive). Space-time indexes bin time by `--temporal-resolution` ms.
//!
//! `ranges` never prints more than 100000 ranges: an exact cover that needs more fails
//! with advice to pass `--max-ranges`, so that no query can exhaust time or memory.

use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tessera::keyed_tile::{AnyKeyIndex, Key, KeyBounds, KeyIndex, SpaceTimeKey, SpatialKey};
use tessera::sfc_index::{Budget, Decomposition};

use crate::UsageError;

/// The most ranges `index ranges` prints. An exact cover needs about one range per cell
/// along the query's edge, so an unaligned box spanning 2^32 columns needs billions; a
/// million lines of output is already more than a caller can use.
const MAX_RANGES: usize = 100_000;

/// Encode keys and decompose key-bounds queries into index ranges.
#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Print the index of one key: `COL ROW` for spatial bounds, `COL ROW INSTANT` for space-time.
    Encode {
        #[command(flatten)]
        index: IndexArgs,
        /// The key's column.
        #[arg(allow_negative_numbers = true)]
        col: i32,
        /// The key's row.
        #[arg(allow_negative_numbers = true)]
        row: i32,
        /// The key's instant in epoch milliseconds (space-time bounds only).
        #[arg(allow_negative_numbers = true)]
        instant: Option<i64>,
    },
    /// Print the inclusive index ranges (`start end`, one per line) that cover a query,
    /// then a summary line: range count, cells covered, cells in the box.
    Ranges {
        #[command(flatten)]
        index: IndexArgs,
        /// The query's key bounds, in the same form as `--bounds`. Parts outside the
        /// index's bounds are ignored.
        #[arg(long, value_name = "C0,R0,C1,R1[,T0,T1]", allow_hyphen_values = true)]
        query: BoundsArg,
        /// At most this many ranges (GeoMesa's default is 2000; values above 100000 count
        /// as 100000). Coarser ranges then also cover cells outside the query, and the
        /// summary says how many cells they cover. Without it the ranges are exact, and a
        /// query that needs more than 100000 exact ranges fails.
        #[arg(long, value_name = "N")]
        max_ranges: Option<usize>,
        /// At most this many levels of curve refinement below the cell holding the query
        /// (the output stays capped at 100000 ranges, as for --max-ranges).
        #[arg(long, value_name = "N")]
        max_recurse: Option<u32>,
    },
}

/// The index: its curve and its key bounds.
#[derive(Debug, Args)]
pub(crate) struct IndexArgs {
    /// The space-filling curve.
    #[arg(long, value_enum)]
    method: Method,
    /// The index's key bounds: `C0,R0,C1,R1` (spatial) or `C0,R0,C1,R1,T0,T1` (space-time, epoch ms).
    #[arg(long, value_name = "C0,R0,C1,R1[,T0,T1]", allow_hyphen_values = true)]
    bounds: BoundsArg,
    /// The width of a time bin in milliseconds; required for space-time bounds (86400000 is
    /// one day). Hilbert gives time enough bits for bins at most this wide.
    #[arg(long, value_name = "MS")]
    temporal_resolution: Option<i64>,
}

/// A space-filling curve, as named in the key index JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Method {
    /// Z-order: Z2 for spatial keys, Z3 for space-time keys.
    Zorder,
    /// Hilbert, with bits per dimension from the bounds' extent.
    Hilbert,
    /// Row-major (spatial keys only).
    Rowmajor,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Zorder => "zorder",
            Self::Hilbert => "hilbert",
            Self::Rowmajor => "rowmajor",
        })
    }
}

/// Key bounds as given on the command line; checked for `min <= max` later, by keyed-tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoundsArg {
    /// `C0,R0,C1,R1`.
    Spatial { min: SpatialKey, max: SpatialKey },
    /// `C0,R0,C1,R1,T0,T1`.
    SpaceTime {
        min: SpaceTimeKey,
        max: SpaceTimeKey,
    },
}

impl FromStr for BoundsArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 4 && parts.len() != 6 {
            return Err(format!(
                "expected 4 values C0,R0,C1,R1 or 6 values C0,R0,C1,R1,T0,T1, got {}",
                parts.len()
            ));
        }
        let int32 = |i: usize, what: &str| {
            parts[i]
                .parse::<i32>()
                .map_err(|e| format!("{what} (value {}) `{}`: {e}", i + 1, parts[i]))
        };
        let (c0, r0) = (int32(0, "min column")?, int32(1, "min row")?);
        let (c1, r1) = (int32(2, "max column")?, int32(3, "max row")?);
        if parts.len() == 4 {
            return Ok(Self::Spatial {
                min: SpatialKey::new(c0, r0),
                max: SpatialKey::new(c1, r1),
            });
        }
        let int64 = |i: usize, what: &str| {
            parts[i]
                .parse::<i64>()
                .map_err(|e| format!("{what} (value {}) `{}`: {e}", i + 1, parts[i]))
        };
        let (t0, t1) = (int64(4, "min instant")?, int64(5, "max instant")?);
        Ok(Self::SpaceTime {
            min: SpaceTimeKey::new(c0, r0, t0),
            max: SpaceTimeKey::new(c1, r1, t1),
        })
    }
}

impl BoundsArg {
    fn is_space_time(&self) -> bool {
        matches!(self, Self::SpaceTime { .. })
    }
}

/// Builds key bounds, turning `min > max` into a usage error that names the flag.
fn key_bounds<K: Key>(flag: &str, min: K, max: K) -> anyhow::Result<KeyBounds<K>> {
    KeyBounds::new(min, max).map_err(|e| UsageError(format!("--{flag}: {e}")).into())
}

/// Builds the index named by `args` over spatial bounds.
fn spatial_index(
    args: &IndexArgs,
    bounds: KeyBounds<SpatialKey>,
) -> anyhow::Result<AnyKeyIndex<SpatialKey>> {
    if args.temporal_resolution.is_some() {
        return Err(UsageError(
            "--temporal-resolution applies to space-time bounds (6 values) only".into(),
        )
        .into());
    }
    let index = match args.method {
        Method::Zorder => AnyKeyIndex::zorder(bounds, None),
        Method::Hilbert => AnyKeyIndex::hilbert(bounds, None),
        Method::Rowmajor => AnyKeyIndex::rowmajor(bounds),
    };
    index.with_context(|| format!("cannot build the {} index", args.method))
}

/// Builds the index named by `args` over space-time bounds.
fn space_time_index(
    args: &IndexArgs,
    bounds: KeyBounds<SpaceTimeKey>,
) -> anyhow::Result<AnyKeyIndex<SpaceTimeKey>> {
    let Some(resolution) = args.temporal_resolution else {
        return Err(UsageError(
            "space-time bounds need --temporal-resolution MS (the width of a time bin)".into(),
        )
        .into());
    };
    if resolution <= 0 {
        return Err(UsageError(format!(
            "--temporal-resolution must be positive, got {resolution} ms"
        ))
        .into());
    }
    let index = match args.method {
        Method::Zorder => AnyKeyIndex::zorder(bounds, Some(resolution)),
        Method::Hilbert => {
            // Hilbert bins time by bits: enough bits to give every `resolution`-wide bin of
            // the bounds' time range a value of its own.
            let span = (i128::from(bounds.max.instant) - i128::from(bounds.min.instant)) as u128;
            let bins = span / resolution as u128;
            let bits = (u128::BITS - bins.leading_zeros()).max(1);
            // 21 bits per dimension: the 3-D Hilbert curve's limit (3 x 21 = 63 bits).
            if bits > 21 {
                anyhow::bail!(
                    "cannot build the hilbert index: {} time bins of {resolution} ms need {bits} bits, \
                     but the 3-D Hilbert curve holds 21 bits per dimension; use a coarser --temporal-resolution",
                    bins + 1
                );
            }
            AnyKeyIndex::hilbert(bounds, Some(bits))
        }
        Method::Rowmajor => {
            return Err(UsageError("rowmajor takes spatial bounds (4 values) only".into()).into());
        }
    };
    index.with_context(|| format!("cannot build the {} index", args.method))
}

pub(crate) fn run(cmd: IndexCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        IndexCommand::Encode {
            index,
            col,
            row,
            instant,
        } => {
            let value = match (index.bounds, instant) {
                (BoundsArg::Spatial { min, max }, None) => {
                    let idx = spatial_index(&index, key_bounds("bounds", min, max)?)?;
                    encode(&idx, SpatialKey::new(col, row))?
                }
                (BoundsArg::SpaceTime { min, max }, Some(instant)) => {
                    let idx = space_time_index(&index, key_bounds("bounds", min, max)?)?;
                    encode(&idx, SpaceTimeKey::new(col, row, instant))?
                }
                (BoundsArg::Spatial { .. }, Some(_)) => {
                    return Err(UsageError(
                        "spatial bounds take a key of COL ROW, without INSTANT".into(),
                    )
                    .into());
                }
                (BoundsArg::SpaceTime { .. }, None) => {
                    return Err(UsageError(
                        "space-time bounds take a key of COL ROW INSTANT".into(),
                    )
                    .into());
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "method": index.method.to_string(), "index": value })
                );
            } else {
                println!("{value}");
            }
            Ok(())
        }
        IndexCommand::Ranges {
            index,
            query,
            max_ranges,
            max_recurse,
        } => {
            if index.bounds.is_space_time() != query.is_space_time() {
                return Err(UsageError(
                    "--query must have as many values as --bounds (4 for spatial keys, 6 for space-time keys)"
                        .into(),
                )
                .into());
            }
            // Every decomposition runs under a cap, so that a huge query with a ragged edge
            // (whose exact cover can need billions of ranges) fails fast instead of
            // exhausting memory.
            let budget = Budget {
                max_ranges: Some(max_ranges.map_or(MAX_RANGES, |n| n.min(MAX_RANGES))),
                max_recurse,
            };
            let decomposition = match (index.bounds, query) {
                (
                    BoundsArg::Spatial { min, max },
                    BoundsArg::Spatial {
                        min: qmin,
                        max: qmax,
                    },
                ) => {
                    let idx = spatial_index(&index, key_bounds("bounds", min, max)?)?;
                    decompose(&idx, &key_bounds("query", qmin, qmax)?, budget)?
                }
                (
                    BoundsArg::SpaceTime { min, max },
                    BoundsArg::SpaceTime {
                        min: qmin,
                        max: qmax,
                    },
                ) => {
                    let idx = space_time_index(&index, key_bounds("bounds", min, max)?)?;
                    decompose(&idx, &key_bounds("query", qmin, qmax)?, budget)?
                }
                // Ruled out above.
                _ => return Err(UsageError("--query and --bounds differ in kind".into()).into()),
            };
            if max_ranges.is_none() && max_recurse.is_none() && !decomposition.is_exact() {
                anyhow::bail!(
                    "the query cannot be covered exactly within {MAX_RANGES} ranges \
                     ({} cells in the box); pass --max-ranges N (e.g. 2000) for fewer, \
                     coarser ranges",
                    decomposition.cells_in_box
                );
            }
            print_ranges(index.method, &decomposition, json)
        }
    }
}

fn encode<K: Key + fmt::Display>(index: &AnyKeyIndex<K>, key: K) -> anyhow::Result<u64> {
    index
        .to_index(&key)
        .with_context(|| format!("cannot encode key {key}"))
}

fn decompose<K: Key>(
    index: &AnyKeyIndex<K>,
    query: &KeyBounds<K>,
    budget: Budget,
) -> anyhow::Result<Decomposition> {
    index
        .decompose(query, budget)
        .context("cannot decompose the query")
}

fn print_ranges(method: Method, d: &Decomposition, json: bool) -> anyhow::Result<()> {
    use std::io::Write;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        /// The JSON output; cell counts are u128 (a whole 64-bit curve holds 2^64 cells),
        /// which serde_json writes as plain numbers.
        #[derive(serde::Serialize)]
        struct Output<'a> {
            method: String,
            ranges: Vec<[u64; 2]>,
            range_count: usize,
            cells_covered: &'a u128,
            cells_in_box: &'a u128,
        }
        let output = Output {
            method: method.to_string(),
            ranges: d.ranges.iter().map(|r| [*r.start(), *r.end()]).collect(),
            range_count: d.ranges.len(),
            cells_covered: &d.cells_covered,
            cells_in_box: &d.cells_in_box,
        };
        serde_json::to_writer(&mut out, &output)?;
        writeln!(out)?;
    } else {
        for r in &d.ranges {
            writeln!(out, "{} {}", r.start(), r.end())?;
        }
        writeln!(
            out,
            "{} ranges, {} cells covered, {} cells in box",
            d.ranges.len(),
            d.cells_covered,
            d.cells_in_box
        )?;
    }
    out.flush()?;
    Ok(())
}
