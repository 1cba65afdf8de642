//! The model a full-featured file turns into.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::support::*;
use crate::model::{Actor, Body, Capability, Location, MessageMatch, Predicate, TextPattern};
use crate::template::Template;

#[test]
fn a_full_featured_file_becomes_the_right_model() {
    let text = dedent(
        r#"
        id: org-admin-updates-team
        title: An org admin updates a team
        description: free text
        upstream: BerriAI/litellm#27294
        tags: [org-admin, conformance]
        requires: [organizations, mcp]
        reference:
          env:
            DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: 0
        steps:
          - id: team
            request:
              method: post
              path: /team/new
              query: {dry: false, n: 2}
              headers: {X-Trace: "t-{{run_id}}"}
              json: {team_alias: "t-{{run_id}}", max_budget: 10}
            expect:
              status: 200
              body:
                - {path: $.team_id, exists: true}
                - {path: $.models, contains: gpt-4}
              headers:
                - {name: Content-Type, contains: application/json}
            capture:
              team_id: $.team_id
              key: $.key
          - id: pause
            sleep: 2s
          - id: update
            actor: "{{key}}"
            request:
              method: PATCH
              path: "/team/{{team_id}}"
              body: '{"team_id": '
            expect:
              status: [401, 403]
              error:
                message_contains: "You do not have access"
                message_contains_any: ["Only proxy admin", "{{team_id}}"]
                message_matches: "^Auth"
                type: auth_error
                code: 401
            retry:
              until: {status: [401, 403]}
              timeout: 10s
              interval: 500ms
        "#,
    );
    let s = parse_ok(&text);
    assert_eq!(s.source, Path::new(PATH));
    assert_eq!(s.id, "org-admin-updates-team");
    assert_eq!(s.title, "An org admin updates a team");
    assert_eq!(s.description.as_deref(), Some("free text"));
    assert_eq!(s.upstream.as_deref(), Some("BerriAI/litellm#27294"));
    assert_eq!(s.tags, ["org-admin", "conformance"]);
    assert_eq!(s.requires, [Capability::Organizations, Capability::Mcp]);
    assert_eq!(s.reference.cache_ttl, Some(Duration::ZERO));
    assert_eq!(s.steps.len(), 3);

    let team = &s.steps[0];
    assert_eq!((team.id.as_str(), team.location), ("team", Location { line: 11, column: 5 }));
    let request = team.request.as_ref().expect("a request");
    assert_eq!(request.actor, Actor::Admin);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path.as_str(), "/team/new");
    let query: Vec<(&str, &str)> = request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(query, [("dry", "false"), ("n", "2")]);
    let headers: Vec<(&str, &str)> = request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(headers, [("x-trace", "t-{{run_id}}")]);
    assert!(
        matches!(&request.body, Some(Body::Json(v)) if *v == json!({"team_alias": "t-{{run_id}}", "max_budget": 10}))
    );
    assert_eq!(team.expect.status, Some(vec![200]));
    assert_eq!(team.expect.body.len(), 2);
    assert_eq!(team.expect.body[0].path_text, "$.team_id");
    assert_eq!(team.expect.body[0].location, Location { line: 21, column: 11 });
    assert!(matches!(team.expect.body[0].predicate, Predicate::Exists));
    assert!(matches!(&team.expect.body[1].predicate, Predicate::Contains(v) if *v == json!("gpt-4")));
    assert_eq!(team.expect.headers[0].name, "content-type");
    assert!(team.expect.error.is_none());
    let captures: Vec<(&str, &str)> =
        team.capture.iter().map(|c| (c.variable.as_str(), c.path_text.as_str())).collect();
    assert_eq!(captures, [("team_id", "$.team_id"), ("key", "$.key")]);
    assert!(team.sleep.is_none() && team.retry.is_none());

    let pause = &s.steps[1];
    assert_eq!(pause.sleep, Some(Duration::from_secs(2)));
    assert!(pause.request.is_none() && pause.capture.is_empty() && pause.expect.status.is_none());

    let update = &s.steps[2];
    let request = update.request.as_ref().expect("a request");
    assert_eq!(request.actor, Actor::Key(Template::parse("{{key}}").expect("a template")));
    assert_eq!(request.method, "PATCH");
    assert!(matches!(&request.body, Some(Body::Raw(t)) if t.as_str() == "{\"team_id\": "));
    assert_eq!(update.expect.status, Some(vec![401, 403]));
    let error = update.expect.error.as_ref().expect("an error assertion");
    assert_eq!(error.location.line, 39);
    assert_eq!(error.error_type.as_deref(), Some("auth_error"));
    assert_eq!(error.code.as_deref(), Some("401"));
    match error.message.as_slice() {
        [
            MessageMatch::Contains(c),
            MessageMatch::ContainsAny(any),
            MessageMatch::Matches(TextPattern::Compiled(r)),
        ] => {
            assert_eq!(c.as_str(), "You do not have access");
            let any: Vec<&str> = any.iter().map(Template::as_str).collect();
            assert_eq!(any, ["Only proxy admin", "{{team_id}}"]);
            assert_eq!(r.as_str(), "^Auth");
        }
        other => panic!("unexpected message matches {other:?}"),
    }
    let retry = update.retry.as_ref().expect("a retry");
    assert_eq!(retry.until.status, Some(vec![401, 403]));
    assert_eq!((retry.timeout, retry.interval), (Duration::from_secs(10), Duration::from_millis(500)));
}
