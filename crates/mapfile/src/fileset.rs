//! File-set helpers: part file names, and choosing the part files a query can touch
//! from their names alone.

use std::ops::RangeInclusive;
use std::path::Path;

use crate::error::{Error, Result};

/// The name of a part file: `part-r-<partition:05>-<first index>`.
pub fn part_file_name(partition: u32, first_index: u64) -> String {
    format!("part-r-{partition:05}-{first_index}")
}

/// What a part file's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartName {
    /// The first index in the file (it sorts first, so names order by index).
    pub first_index: u64,
    /// The partition number.
    pub partition: u32,
}

/// Parses a part file name `part-r-<partition>-<first index>`; `None` when it is not one.
///
/// Both numbers are plain decimal without sign; the partition has at least 5 digits.
///
/// ```
/// use mapfile::{parse_part_name, PartName};
/// assert_eq!(parse_part_name("part-r-00002-4096"), Some(PartName { partition: 2, first_index: 4096 }));
/// assert_eq!(parse_part_name(".part-r-00002-4096.tmp"), None);
/// ```
pub fn parse_part_name(name: &str) -> Option<PartName> {
    let rest = name.strip_prefix("part-r-")?;
    let (partition, first) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if partition.len() < 5 || !digits(partition) || !digits(first) {
        return None;
    }
    Some(PartName {
        first_index: first.parse().ok()?,
        partition: partition.parse().ok()?,
    })
}

/// Parses a part file name, or fails naming it.
pub fn parse_part_name_or_err(name: &str) -> Result<PartName> {
    parse_part_name(name).ok_or_else(|| Error::FileName {
        name: name.to_string(),
    })
}

/// Chooses the part files whose indexes can intersect the query ranges, from their names.
///
/// `names` are part file names (any order; they are ordered by first index here). A file
/// covers `[its first index, the next larger first index − 1]`, and the file(s) with the
/// largest first index are open-ended. Files sharing a first index share a cover. Query
/// ranges may come in any order and may overlap; empty ranges (`lo > hi`) match nothing.
///
/// Returns the positions in `names` of the chosen files, ordered by first index.
///
/// ```
/// let names = ["part-r-00000-0", "part-r-00000-100", "part-r-00001-200"];
/// assert_eq!(mapfile::select_files(&names, &[150..=160])?, vec![1]);
/// assert_eq!(mapfile::select_files(&names, &[99..=100, 5000..=5000])?, vec![0, 1, 2]);
/// # Ok::<(), mapfile::Error>(())
/// ```
pub fn select_files<S: AsRef<str>>(
    names: &[S],
    ranges: &[RangeInclusive<u64>],
) -> Result<Vec<usize>> {
    let mut files = Vec::with_capacity(names.len());
    for (pos, name) in names.iter().enumerate() {
        files.push((parse_part_name_or_err(name.as_ref())?.first_index, pos));
    }
    files.sort_unstable();
    let queries = normalize_ranges(ranges);
    let mut chosen = Vec::new();
    let mut q = 0;
    let mut i = 0;
    while i < files.len() {
        let first = files[i].0;
        // Files sharing this first index form one group with one cover.
        let mut j = i;
        while j < files.len() && files[j].0 == first {
            j += 1;
        }
        let cover_end = files.get(j).map_or(u64::MAX, |next| next.0 - 1);
        // Skip the queries that end before this cover starts; they cannot match any later
        // cover either, since covers only move up.
        while queries.get(q).is_some_and(|r| r.1 < first) {
            q += 1;
        }
        if queries.get(q).is_some_and(|r| r.0 <= cover_end) {
            chosen.extend(files[i..j].iter().map(|f| f.1));
        }
        i = j;
    }
    Ok(chosen)
}

/// Sorts query ranges by start, drops empty ones, and merges overlapping and adjacent ones.
pub(crate) fn normalize_ranges(ranges: &[RangeInclusive<u64>]) -> Vec<(u64, u64)> {
    let mut sorted: Vec<(u64, u64)> = ranges
        .iter()
        .filter(|r| r.start() <= r.end())
        .map(|r| (*r.start(), *r.end()))
        .collect();
    sorted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
    for (lo, hi) in sorted {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Lists the part files in a directory, ordered by first index, ignoring every other entry
/// (temporary files of unfinished writes among them).
pub fn list_part_files(dir: impl AsRef<Path>) -> Result<Vec<(PartName, std::path::PathBuf)>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(part) = entry.file_name().to_str().and_then(parse_part_name) {
            parts.push((part, entry.path()));
        }
    }
    parts.sort();
    Ok(parts)
}
