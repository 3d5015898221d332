//! Tests of the `tessera` binary, one module per command group.

mod mapfile;
