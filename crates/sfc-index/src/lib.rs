//! Z-order, Hilbert and row-major space-filling curves over integer boxes, with box-to-index-range decomposition.
#![deny(missing_docs)]
