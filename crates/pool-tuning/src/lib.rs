//! Thread counts per backend and operation, a bounded parallel executor, and calibration.
#![deny(missing_docs)]
