//! JSON Schema of the scenario format (to be written).

/// The JSON Schema of scenario format v1, pretty-printed.
pub fn json_schema() -> String {
    todo!("scenario helper")
}
