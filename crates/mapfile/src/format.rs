//! Layout constants of the on-disk format (see `FORMAT.md`) and little-endian field access.

use byteorder::{ByteOrder, LittleEndian};

/// The magic bytes at the start and at the very end of every map file.
pub const MAGIC: [u8; 8] = *b"TSMAPF\r\n";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Bytes in the header: magic, version, flags.
pub const HEADER_LEN: usize = 16;
/// Bytes in each record's header: index (u64) and payload length (u32).
pub const RECORD_HEADER_LEN: usize = 12;
/// Bytes in each sparse index entry: first index (u64), block offset (u64), block CRC32 (u32).
pub const INDEX_ENTRY_LEN: usize = 20;
/// Bytes in the footer, trailing magic included.
pub const FOOTER_LEN: usize = 64;
/// The largest payload a record can hold: its length is stored as a u32.
pub const MAX_PAYLOAD_LEN: u64 = u32::MAX as u64;

// Offsets of the footer's fields, relative to the start of the footer.
pub(crate) const F_RECORD_COUNT: usize = 0;
pub(crate) const F_FIRST_INDEX: usize = 8;
pub(crate) const F_LAST_INDEX: usize = 16;
pub(crate) const F_DATA_OFFSET: usize = 24;
pub(crate) const F_INDEX_OFFSET: usize = 32;
pub(crate) const F_INDEX_ENTRIES: usize = 40;
pub(crate) const F_INTERVAL: usize = 48;
pub(crate) const F_META_CRC: usize = 52;
pub(crate) const F_MAGIC: usize = 56;

/// Reads a little-endian u64 at `at`, or `None` when it does not fit in `bytes`.
#[inline]
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let end = at.checked_add(8)?;
    bytes.get(at..end).map(LittleEndian::read_u64)
}

/// Reads a little-endian u32 at `at`, or `None` when it does not fit in `bytes`.
#[inline]
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    bytes.get(at..end).map(LittleEndian::read_u32)
}

/// The checksum over the header, the sparse index and the footer: every byte of those
/// three parts except the checksum field itself. `index_and_footer` runs from the start of
/// the sparse index to the end of the file.
pub(crate) fn metadata_crc(header: &[u8], index_and_footer: &[u8]) -> Option<u32> {
    let crc_at = index_and_footer.len().checked_sub(FOOTER_LEN)? + F_META_CRC;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(index_and_footer.get(..crc_at)?);
    hasher.update(index_and_footer.get(crc_at + 4..)?);
    Some(hasher.finalize())
}
