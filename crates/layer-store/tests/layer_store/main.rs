//! Integration tests of layer-store: one binary, one module per topic.

mod attributes;
mod common;
mod crash;
mod hostile;
mod model;
mod names;
mod ops;
mod part_store;
mod query;
mod spill;
mod update;
mod value_log;
mod write_read;
