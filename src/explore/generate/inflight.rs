//! A completion in flight across a write to its key: the one shape sequential steps cannot give.
//!
//! A completion through a key goes to the slow upstream (`llmslow`, which answers after
//! [`SLOW_LLM_DELAY`]) in the background; [`UPDATE_AFTER`] later, while it is past authentication
//! and still waiting, the admin blocks the key; a read through the key then awaits the completion and
//! shows whether the block held once it finished. All three go to one replica, so what shows is the
//! in-flight call, not the cross-replica invalidation. The margins (the call is authorized within
//! [`UPDATE_AFTER`] and still in flight for as long again after the update) are wide for a
//! loopback proxy and keep the op cheap.

use std::time::Duration;

use rand::Rng;
use serde_json::json;

use super::world::Key;
use super::{Generator, SLOW_LLM_MOCK};
use crate::explore::build::{StepBuilder, key_actor};
use crate::scenario::Actor;

/// How long the slow upstream takes to answer a completion.
pub(crate) const SLOW_LLM_DELAY: Duration = Duration::from_millis(300);
/// How long after the completion starts the key is written.
const UPDATE_AFTER: Duration = Duration::from_millis(100);

fn slow_model() -> String {
    "mslow-{{run_id}}".to_string()
}

impl Generator<'_> {
    pub(super) fn in_flight_update(&mut self) {
        self.world.in_flight = true;
        let register = StepBuilder::new(self.id("model-new"), Actor::Admin, "POST", "/model/new").json(json!({
            "model_name": slow_model(),
            "litellm_params": {
                "model": "openai/gpt-mock",
                "api_base": format!("{{{{mocks.{SLOW_LLM_MOCK}.url}}}}"),
                "api_key": "sk-upstream-mock",
            },
        }));
        self.push(register);
        let on = self.on();
        let key = Key { var: format!("k{}", self.world.keys.len() + 1), ..Key::default() };
        let index = self.admin_key(key, json!({"models": [slow_model()]}));
        let var = self.world.keys[index].var.clone();
        let chat = StepBuilder::new(self.id("chat"), key_actor(&var), "POST", "/chat/completions")
            .json(json!({"model": slow_model(), "messages": [{"role": "user", "content": "slow"}]}))
            .on(on)
            .build();
        let chat_id = chat.id.clone();
        self.steps.push(crate::scenario::Step { background: true, ..chat });
        let by = if self.rng.random_bool(0.5) { format!("{{{{{var}_token}}}}") } else { format!("{{{{{var}}}}}") };
        let update = StepBuilder::new(self.id("key-update"), Actor::Admin, "POST", "/key/update")
            .json(json!({"key": by, "blocked": true}))
            .on(on)
            .build();
        self.steps.push(crate::scenario::Step { sleep: Some(UPDATE_AFTER), ..update });
        let read = StepBuilder::new(self.id("key-info"), key_actor(&var), "GET", "/key/info").on(on).build();
        self.steps.push(crate::scenario::Step { awaits: vec![chat_id], ..read });
    }
}
