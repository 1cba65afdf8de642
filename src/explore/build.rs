//! Small constructors for the scenario model's steps, so the generator reads as the API it calls.
//!
//! Every string the generator makes is a valid template (it only ever writes `{{name}}` with names it
//! chose), so a parse failure here is a bug in the generator and panics with the text.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::scenario::{Actor, Body, Capture, Expect, Location, Request, Step, Template};

pub(crate) fn template(text: &str) -> Template {
    Template::parse(text).unwrap_or_else(|e| panic!("the generator wrote an invalid template `{text}`: {e}"))
}

/// The actor of a key held in variable `var`.
pub(crate) fn key_actor(var: &str) -> Actor {
    Actor::Key(template(&format!("{{{{{var}}}}}")))
}

pub(crate) fn capture(variable: &str, path: &str) -> Capture {
    Capture {
        variable: variable.to_string(),
        path_text: path.to_string(),
        path: JsonPath::parse(path).unwrap_or_else(|e| panic!("the generator wrote an invalid JSONPath `{path}`: {e}")),
    }
}

/// A step with no expectation: explore records what each target answers and compares afterwards.
pub(crate) struct StepBuilder {
    step: Step,
}

impl StepBuilder {
    pub(crate) fn new(id: String, actor: Actor, method: &str, path: &str) -> StepBuilder {
        StepBuilder {
            step: Step {
                id,
                location: Location::default(),
                sleep: None,
                on: None,
                request: Some(Request {
                    actor,
                    method: method.to_string(),
                    path: template(path),
                    query: Vec::new(),
                    headers: Vec::new(),
                    body: None,
                }),
                expect: Expect::default(),
                capture: Vec::new(),
                origin: None,
                retry: None,
                background: false,
                awaits: Vec::new(),
            },
        }
    }

    pub(crate) fn query(mut self, name: &str, value: &str) -> StepBuilder {
        if let Some(request) = &mut self.step.request {
            request.query.push((name.to_string(), template(value)));
        }
        self
    }

    pub(crate) fn json(mut self, body: Value) -> StepBuilder {
        if let Some(request) = &mut self.step.request {
            request.body = Some(Body::Json(body));
        }
        self
    }

    pub(crate) fn capture(mut self, variable: &str, path: &str) -> StepBuilder {
        self.step.capture.push(capture(variable, path));
        self
    }

    pub(crate) fn on(mut self, on: Option<usize>) -> StepBuilder {
        self.step.on = on;
        self
    }

    pub(crate) fn build(self) -> Step {
        self.step
    }
}
