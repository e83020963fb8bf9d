//! shared bench inputs
