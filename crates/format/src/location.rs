//! Positions in a scenario file, which the model and the mocks both point with.

/// Where something sits in its scenario file (1-based line and column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}
