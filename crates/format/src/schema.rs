//! JSON Schema of the scenario format, for editors to validate and complete scenario files.
//!
//! Generated from the serde mirror in `file.rs`, so it accepts what the parser accepts; checks the
//! schema cannot express (variables captured earlier, regexes that compile) stay in the loader.

use super::file::{FragmentFile, ScenarioFile};

/// The JSON Schema of scenario format v1, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    // A schema is plain JSON data; serializing it cannot fail.
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// The JSON Schema of fragment files (the steps scenarios `include:`), pretty-printed.
pub fn fragment_json_schema() -> String {
    let schema = schemars::schema_for!(FragmentFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::Value;

    use super::*;

    fn schema() -> Value {
        serde_json::from_str(&json_schema()).expect("the schema is JSON")
    }

    fn fragment_schema() -> Value {
        serde_json::from_str(&fragment_json_schema()).expect("the fragment schema is JSON")
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
            [
                "actor",
                "await",
                "background",
                "capture",
                "expect",
                "id",
                "include",
                "on",
                "request",
                "retry",
                "sleep",
                "with"
            ]
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

    #[rstest]
    #[case::llm_mock("LlmMockFile", "delay")]
    #[case::mcp_tool("McpToolFile", "delay")]
    fn schema_describes_the_mock_delays(#[case] definition: &str, #[case] field: &str) {
        let root = schema();
        let text = root["$defs"].to_string();
        let properties = &root["$defs"][definition]["properties"];
        assert!(properties.get(field).is_some(), "`{definition}.{field}` missing: {text}");
        let description = properties[field]["description"].as_str().unwrap_or_default();
        assert!(description.contains("humantime duration"), "{definition}: {description}");
    }

    #[test]
    fn the_fragment_schema_requires_a_title_and_steps_and_describes_parameters() {
        let root = fragment_schema();
        assert_eq!(root["title"], "gateproof fragment (format v1)");
        let mut fields: Vec<&str> =
            root["properties"].as_object().expect("fragment properties").keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["description", "fragment", "params", "steps"]);
        let mut required: Vec<&str> =
            root["required"].as_array().expect("required list").iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["fragment", "steps"]);
        assert_eq!(root["additionalProperties"], Value::Bool(false));
        let param = resolve(&root, &root["properties"]["params"]["additionalProperties"]);
        let mut keys: Vec<&str> =
            param["properties"].as_object().expect("param properties").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["default", "description"]);
        assert_eq!(param["additionalProperties"], Value::Bool(false));
        // A fragment's steps are a scenario's: they may include fragments of their own.
        let step = resolve(&root, &root["properties"]["steps"]["items"]);
        assert!(step["properties"].get("include").is_some(), "{step}");
        for (name, definition) in root["$defs"].as_object().expect("definitions") {
            if definition.get("properties").is_some() {
                assert_eq!(definition["additionalProperties"], Value::Bool(false), "`{name}` allows unknown fields");
            }
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
    fn a_requirement_is_a_built_in_name_or_a_capability_with_its_probe() {
        let root = schema();
        let requirement = resolve(&root, &root["properties"]["requires"]["items"]);
        let options = requirement["oneOf"].as_array().expect("a name or a probed capability");
        assert_eq!(options.len(), 2, "{requirement}");
        let names = resolve(&root, &options[0]);
        assert!(names.to_string().contains("\"organizations\""), "{names}");
        let probed = resolve(&root, &options[1]);
        let mut required: Vec<&str> =
            probed["required"].as_array().expect("required list").iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["capability", "probe"]);
        let probe = resolve(&root, &probed["properties"]["probe"]);
        let mut fields: Vec<&str> =
            probe["properties"].as_object().expect("probe properties").keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["cleanup", "lacks_when", "request", "setup"]);
        let mut required: Vec<&str> =
            probe["required"].as_array().expect("required list").iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["lacks_when", "request"]);
        // One vocabulary: the probe's request and answers are a step's.
        assert_eq!(probe["properties"]["request"]["$ref"], "#/$defs/RequestFile");
        assert_eq!(probe["properties"]["lacks_when"]["$ref"], "#/$defs/ExpectFile");
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
