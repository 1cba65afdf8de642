//! JSON Schema of the scenario format, for editors to validate and complete scenario files.
//!
//! Generated from the serde mirror in `file.rs`, so it accepts what the parser accepts; checks the
//! schema cannot express (variables captured earlier, regexes that compile) stay in the loader.

use super::file::ScenarioFile;

/// The JSON Schema of scenario format v1, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    // A schema is plain JSON data; serializing it cannot fail.
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn schema() -> Value {
        serde_json::from_str(&json_schema()).expect("the schema is JSON")
    }

    /// The definition a `$ref` points at, or the schema itself.
    fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/$defs/");
                &root["$defs"][name]
            }
            None => schema,
        }
    }

    #[test]
    fn schema_names_the_top_level_fields_and_requires_id_title_steps() {
        let root = schema();
        let properties = root["properties"].as_object().expect("top-level properties");
        for field in
            ["id", "title", "description", "upstream", "tags", "requires", "reference", "reproduces", "steps", "matrix"]
        {
            assert!(properties.contains_key(field), "top-level field `{field}` missing");
        }
        let required: Vec<&str> =
            root["required"].as_array().expect("required list").iter().filter_map(Value::as_str).collect();
        assert_eq!(required, ["id", "title", "steps"]);
        assert_eq!(root["additionalProperties"], Value::Bool(false));
    }

    #[test]
    fn schema_describes_matrix_rows_with_a_status_per_actor() {
        let root = schema();
        let matrix = resolve(&root, &root["properties"]["matrix"]);
        let matrix = match matrix.get("anyOf") {
            Some(options) => resolve(&root, &options[0]),
            None => matrix,
        };
        assert_eq!(matrix["additionalProperties"], Value::Bool(false));
        let row = resolve(&root, &matrix["properties"]["rows"]["items"]);
        let mut names: Vec<&str> =
            row["properties"].as_object().expect("row properties").keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["denied", "expect", "name", "request", "setup"]);
        assert_eq!(row["additionalProperties"], Value::Bool(false));
        let cell = resolve(&root, &row["properties"]["expect"]["additionalProperties"]);
        assert!(cell["oneOf"].is_array(), "a cell is a status or a list of them: {cell}");
    }

    #[test]
    fn schema_names_the_step_fields_and_forbids_others() {
        let root = schema();
        let step = resolve(&root, &root["properties"]["steps"]["items"]);
        let properties = step["properties"].as_object().expect("step properties");
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["actor", "await", "background", "capture", "expect", "id", "on", "request", "retry", "sleep"]
        );
        assert_eq!(step["additionalProperties"], Value::Bool(false));
    }

    /// The definition behind a property that may be `Option<T>` (`anyOf: [T, null]`).
    fn definition<'a>(root: &'a Value, property: &'a Value) -> &'a Value {
        let resolved = resolve(root, property);
        match resolved.get("anyOf").and_then(Value::as_array) {
            Some(options) => options
                .iter()
                .map(|o| resolve(root, o))
                .find(|o| o.get("type") != Some(&Value::from("null")))
                .unwrap_or(resolved),
            None => resolved,
        }
    }

    #[test]
    fn schema_describes_background_and_await() {
        let root = schema();
        let step = resolve(&root, &root["properties"]["steps"]["items"]);
        let background = definition(&root, &step["properties"]["background"]);
        assert!(background.to_string().contains("boolean"), "{background}");
        let awaits = definition(&root, &step["properties"]["await"]);
        let shapes: Vec<&str> =
            awaits["oneOf"].as_array().expect("an id or a list").iter().filter_map(|o| o["type"].as_str()).collect();
        assert_eq!(shapes, ["string", "array"]);
        assert_eq!(awaits["oneOf"][1]["minItems"], 1);
    }

    #[test]
    fn schema_describes_the_mock_delays() {
        let root = schema();
        let text = root["$defs"].to_string();
        for (definition, field) in [("LlmMockFile", "delay"), ("McpToolFile", "delay")] {
            let properties = &root["$defs"][definition]["properties"];
            assert!(properties.get(field).is_some(), "`{definition}.{field}` missing: {text}");
            let description = properties[field]["description"].as_str().unwrap_or_default();
            assert!(description.contains("humantime duration"), "{definition}: {description}");
        }
    }

    #[test]
    fn every_object_in_the_schema_forbids_additional_properties() {
        let root = schema();
        for (name, definition) in root["$defs"].as_object().expect("definitions") {
            if definition.get("properties").is_some() {
                assert_eq!(definition["additionalProperties"], Value::Bool(false), "`{name}` allows unknown fields");
            }
        }
    }

    #[test]
    fn schema_carries_descriptions_from_doc_comments() {
        let root = schema();
        let description = root["properties"]["steps"]["description"].as_str().unwrap_or_default();
        assert!(description.contains("at least one"), "got {description:?}");
        assert_eq!(root["properties"]["steps"]["minItems"], 1);
    }

    #[test]
    fn schema_lists_the_quirk_names_and_requires_the_reproduction_fields() {
        let root = schema();
        let reproduces = resolve(&root, &root["properties"]["reproduces"]);
        let reproduces = match reproduces.get("anyOf") {
            // `Option<T>` may come out as `anyOf: [T, null]`.
            Some(Value::Array(options)) => resolve(&root, &options[0]),
            _ => reproduces,
        };
        let mut required: Vec<&str> =
            reproduces["required"].as_array().expect("required list").iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["fails_at", "observed", "quirk"]);
        let quirk = resolve(&root, &reproduces["properties"]["quirk"]);
        let names: Vec<&str> =
            quirk["enum"].as_array().expect("quirk names").iter().filter_map(Value::as_str).collect();
        let expected: Vec<&str> = crate::quirk::Quirk::ALL.iter().map(|q| q.name()).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn schema_lists_the_known_capabilities() {
        let root = schema();
        let text = root.to_string();
        for capability in crate::Capability::ALL {
            assert!(text.contains(&format!("\"{}\"", capability.name())), "{} missing", capability.name());
        }
    }
}
