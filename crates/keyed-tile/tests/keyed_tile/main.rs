//! Integration tests for `keyed-tile`: keys, layouts, cell types, tiles, the codec and key indexes.

mod alloc_probe;
mod cell_types;
mod codec;
mod indexes;
mod keys;
mod layout;
mod tiles;

#[global_allocator]
static ALLOCATOR: alloc_probe::Probe = alloc_probe::Probe;
