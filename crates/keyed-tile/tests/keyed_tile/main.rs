//! Integration tests for `keyed-tile`: keys, layouts, cell types, tiles, the codec and key indexes.

mod cell_types;
