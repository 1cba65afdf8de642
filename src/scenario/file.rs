//! Serde mirror of a scenario file (to be written).
