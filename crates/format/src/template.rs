//! `{{var}}` templating for every string in a scenario.
//!
//! A template is parsed once at load time, so a malformed placeholder is a load error with a location,
//! and the runner only substitutes.

use std::collections::BTreeMap;

use serde_json::Value;

/// Variables available to templates: built-ins plus captures, by name.
pub type Variables = BTreeMap<String, Value>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

/// A string that may contain `{{name}}` placeholders (names: letters, digits, `_`, `-`, `.`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed placeholder: `{{{{` at byte {0} has no matching `}}}}`")]
    Unclosed(usize),
    #[error("invalid variable name `{0}`: use letters, digits, `_`, `-` and `.`")]
    BadName(String),
    #[error("unknown variable `{name}`{}", known_hint(.known))]
    Unknown { name: String, known: Vec<String> },
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) }
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed(offset + start))?;
            let name = after[..end].trim();
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(TemplateError::BadName(name.to_string()));
            }
            pieces.push(Piece::Var(name.to_string()));
            let consumed = start + 2 + end + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { source: source.to_string(), pieces })
    }

    /// A template with no placeholders.
    pub fn literal(text: &str) -> Template {
        Template { source: text.to_string(), pieces: vec![Piece::Text(text.to_string())] }
    }

    /// The text as written in the scenario.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Names of the variables it refers to, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(name) => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }

    pub fn has_placeholders(&self) -> bool {
        self.variables().next().is_some()
    }

    /// The template with some placeholders replaced, as when a fragment is included: a parameter by
    /// its value, a capture of the fragment by its namespaced name.
    pub(crate) fn splice(&self, replace: &dyn Fn(&str) -> Splice) -> Template {
        let mut pieces: Vec<Piece> = Vec::with_capacity(self.pieces.len());
        let mut push = |piece: Piece| match (pieces.last_mut(), piece) {
            (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
            (_, piece) => pieces.push(piece),
        };
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => push(Piece::Text(text.clone())),
                Piece::Var(name) => match replace(name) {
                    Splice::Keep => push(Piece::Var(name.clone())),
                    Splice::Rename(to) => push(Piece::Var(to)),
                    Splice::Text(text) => push(Piece::Text(text)),
                    Splice::Template(template) => template.pieces.iter().cloned().for_each(&mut push),
                },
            }
        }
        let source = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(text) => text.clone(),
                Piece::Var(name) => format!("{{{{{name}}}}}"),
            })
            .collect();
        Template { source, pieces }
    }

    /// The variable's name when the template is exactly one placeholder.
    pub(crate) fn lone_variable(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Var(name)] => Some(name),
            _ => None,
        }
    }

    /// Substitutes every placeholder; a string variable is inserted as is, any other value as JSON.
    pub fn render(&self, vars: &Variables) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len());
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(name) => match lookup(vars, name)? {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(out)
    }

    /// Renders to a JSON value: a template that is exactly one placeholder yields the variable's value
    /// with its type; anything else yields a string.
    pub fn render_value(&self, vars: &Variables) -> Result<Value, TemplateError> {
        match self.pieces.as_slice() {
            [Piece::Var(name)] => lookup(vars, name).cloned(),
            _ => self.render(vars).map(Value::String),
        }
    }
}

/// What [`Template::splice`] puts in place of one placeholder.
pub(crate) enum Splice {
    Keep,
    Rename(String),
    /// Literal text.
    Text(String),
    /// Another template's pieces.
    Template(Template),
}

fn lookup<'v>(vars: &'v Variables, name: &str) -> Result<&'v Value, TemplateError> {
    vars.get(name)
        .ok_or_else(|| TemplateError::Unknown { name: name.to_string(), known: vars.keys().cloned().collect() })
}

/// Renders every string inside a JSON value (keys included) as a template.
pub fn render_json(value: &Value, vars: &Variables) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => Template::parse(s)?.render_value(vars)?,
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, vars)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(Template::parse(k)?.render(vars)?, render_json(v, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Every template inside a JSON value (keys and string values), so a caller can see which
/// variables a request body uses.
pub fn json_templates(value: &Value) -> Result<Vec<Template>, TemplateError> {
    let mut out = Vec::new();
    collect(value, &mut out)?;
    Ok(out)
}

fn collect(value: &Value, out: &mut Vec<Template>) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => out.push(Template::parse(s)?),
        Value::Array(items) => {
            for item in items {
                collect(item, out)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                out.push(Template::parse(k)?);
                collect(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn vars() -> Variables {
        let mut v = Variables::new();
        v.insert("run_id".into(), json!("r1"));
        v.insert("n".into(), json!(3));
        v.insert("ids".into(), json!(["a", "b"]));
        v
    }

    #[test]
    fn renders_text_and_placeholders() {
        let t = Template::parse("team-{{ run_id }}-{{n}}").unwrap();
        assert_eq!(t.render(&vars()).unwrap(), "team-r1-3");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["run_id", "n"]);
    }

    #[test]
    fn a_lone_placeholder_keeps_the_json_type() {
        let body = json!({"ids": "{{ids}}", "n": "{{n}}", "s": "x{{n}}"});
        assert_eq!(render_json(&body, &vars()).unwrap(), json!({"ids": ["a", "b"], "n": 3, "s": "x3"}));
    }

    #[test]
    fn unknown_variable_names_the_known_ones() {
        let err = Template::parse("{{nope}}").unwrap().render(&vars()).unwrap_err();
        assert_eq!(err.to_string(), "unknown variable `nope` (known: ids, n, run_id)");
    }

    #[rstest]
    #[case::unclosed("a {{b", TemplateError::Unclosed(2))]
    #[case::a_space_in_the_name("{{a b}}", TemplateError::BadName("a b".into()))]
    #[case::no_name("{{}}", TemplateError::BadName(String::new()))]
    fn malformed_placeholders_are_rejected(#[case] text: &str, #[case] expected: TemplateError) {
        assert_eq!(Template::parse(text).unwrap_err(), expected);
    }

    #[test]
    fn text_without_placeholders_is_literal() {
        let t = Template::parse("plain").unwrap();
        assert!(!t.has_placeholders());
        assert_eq!(t, Template::literal("plain"));
    }
}
