//! The generator's model-access operations: registering models, the lists that narrow them (team
//! `models`, a member's `allowed_models`, a user's `models`, a key's `models` with wildcards, the
//! models of unified access groups), the aliases that rename them (a key's `aliases`, a team's
//! `model_aliases`, `router_settings.model_group_alias`), and the discovery routes whose listed set
//! is the decision explore compares.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

use super::world::{Alias, ModelEntry, model_name, model_names, team_var, user_id, user_key};
use super::{Generator, Key};
use crate::explore::build::{StepBuilder, key_actor};
use crate::scenario::Actor;

/// Routes that list models, with their weights: `/v1/models` is what clients read.
const DISCOVERY_ROUTES: &[(&str, u32)] =
    &[("/v1/models", 3), ("/models", 1), ("/model/info", 1), ("/v2/model/info", 1), ("/model_group/info", 1)];

fn alias_map(aliases: &[Alias]) -> Value {
    Value::Object(aliases.iter().map(|(name, target)| (name.clone(), json!(model_name(*target)))).collect())
}

fn router_settings(aliases: &[Alias]) -> Value {
    json!({"model_group_alias": alias_map(aliases)})
}

impl Generator<'_> {
    pub(super) fn model_new(&mut self) {
        let model = self.world.models;
        self.world.models += 1;
        let step = StepBuilder::new(self.id("model-new"), Actor::Admin, "POST", "/model/new").json(json!({
            "model_name": model_name(model),
            "litellm_params": {
                "model": "openai/gpt-mock",
                "api_base": "{{mocks.llm.url}}",
                "api_key": "sk-upstream-mock",
                "input_cost_per_token": 0.001,
                "output_cost_per_token": 0.002,
            },
        }));
        self.push(step);
    }

    /// A non-empty random subset of the registered models.
    pub(super) fn some_models(&mut self) -> Vec<usize> {
        let mut models = self.subset(self.world.models);
        if models.is_empty() && self.world.models > 0 {
            models.push(self.rng.random_range(0..self.world.models));
        }
        models
    }

    /// A list that narrows: mostly a single model once there are two, so that something is left out.
    pub(super) fn narrow_models(&mut self) -> Vec<usize> {
        if self.world.models >= 2 && self.rng.random_bool(0.75) {
            vec![self.rng.random_range(0..self.world.models)]
        } else {
            self.some_models()
        }
    }

    /// One alias named `name` (or, sometimes, after a registered model it then shadows) to a random
    /// model.
    fn one_alias(&mut self, name: String) -> Alias {
        let target = self.rng.random_range(0..self.world.models);
        let shadowed = self.rng.random_range(0..self.world.models);
        if self.rng.random_bool(0.4) && shadowed != target { (model_name(shadowed), target) } else { (name, target) }
    }

    /// `models`, `model_aliases` and `router_settings` for a new team (sometimes each).
    pub(super) fn team_model_fields(&mut self, index: usize, body: &mut Map<String, Value>) {
        if self.world.models == 0 {
            return;
        }
        let n = index + 1;
        if self.rng.random_bool(0.4) {
            let models = self.some_models();
            body.insert("models".into(), json!(model_names(&models)));
            self.world.teams[index].models = models;
        }
        if self.rng.random_bool(0.25) {
            let alias = self.one_alias(format!("ta{n}-{{{{run_id}}}}"));
            body.insert("model_aliases".into(), alias_map(std::slice::from_ref(&alias)));
            self.world.teams[index].aliases.push(alias);
        }
        if self.rng.random_bool(0.1) {
            let target = self.rng.random_range(0..self.world.models);
            let alias = (format!("tr{n}-{{{{run_id}}}}"), target);
            body.insert("router_settings".into(), router_settings(std::slice::from_ref(&alias)));
            self.world.teams[index].router_aliases.push(alias);
        }
    }

    /// `models` (with wildcards now and then), `aliases` and `router_settings` for a new key.
    pub(super) fn key_model_fields(&mut self, key: &mut Key, body: &mut Map<String, Value>) {
        if self.world.models == 0 {
            return;
        }
        let n = self.world.keys.len() + 1;
        if self.rng.random_bool(0.5) {
            key.models = self.model_entries();
            body.insert("models".into(), json!(key.models.iter().map(|e| e.text()).collect::<Vec<_>>()));
        }
        if self.rng.random_bool(0.3) {
            // Sometimes the alias takes the name of a model the key lists and sends it to one the key
            // does not: the name is then neither callable nor to be listed.
            let own: Vec<usize> =
                key.models.iter().filter_map(|e| if let ModelEntry::Model(m) = e { Some(*m) } else { None }).collect();
            let outside: Vec<usize> =
                (0..self.world.models).filter(|m| !key.models.iter().any(|e| e.model() == *m)).collect();
            let alias = if !own.is_empty() && !outside.is_empty() && self.rng.random_bool(0.4) {
                let shadowed = *own.choose(&mut self.rng).unwrap_or(&0);
                let target = *outside.choose(&mut self.rng).unwrap_or(&0);
                (model_name(shadowed), target)
            } else {
                self.one_alias(format!("ka{n}-{{{{run_id}}}}"))
            };
            body.insert("aliases".into(), alias_map(std::slice::from_ref(&alias)));
            key.aliases.push(alias);
        }
        if self.rng.random_bool(0.08) {
            let target = self.rng.random_range(0..self.world.models);
            let alias = (format!("kr{n}-{{{{run_id}}}}"), target);
            body.insert("router_settings".into(), router_settings(std::slice::from_ref(&alias)));
            key.router_aliases.push(alias);
        }
    }

    /// A key's `models`: some of the registered ones, an entry sometimes a wildcard matching it.
    pub(super) fn model_entries(&mut self) -> Vec<ModelEntry> {
        let models = self.some_models();
        models
            .into_iter()
            .map(|m| if self.rng.random_bool(0.2) { ModelEntry::Wildcard(m) } else { ModelEntry::Model(m) })
            .collect()
    }

    /// `user_id` for an admin's key: a member of its team, or the owner of a personal key, so the
    /// member's `allowed_models` or the user's `models` take part.
    pub(super) fn key_owner(&mut self, team: Option<usize>, body: &mut Map<String, Value>) -> Option<usize> {
        let candidates: Vec<usize> = match team {
            Some(t) => self.world.teams[t].members.iter().map(|(u, _)| *u).collect(),
            None => (0..self.world.users).collect(),
        };
        // Personal keys more often: their owner may use them and not administer them.
        let share = if team.is_none() { 0.7 } else { 0.3 };
        let user = candidates.choose(&mut self.rng).copied().filter(|_| self.rng.random_bool(share))?;
        body.insert("user_id".into(), json!(user_id(user)));
        Some(user)
    }

    /// `models` for `/user/new`, sometimes.
    pub(super) fn user_models(&mut self, body: &mut Map<String, Value>) -> Vec<usize> {
        if self.world.models == 0 || !self.rng.random_bool(0.25) {
            return Vec::new();
        }
        let models = self.narrow_models();
        body.insert("models".into(), json!(model_names(&models)));
        models
    }

    /// `access_model_names` for a new unified access group, sometimes.
    pub(super) fn group_models_field(&mut self, body: &mut Map<String, Value>) -> Vec<usize> {
        if self.world.models == 0 || !self.rng.random_bool(0.6) {
            return Vec::new();
        }
        let models = self.some_models();
        body.insert("access_model_names".into(), json!(model_names(&models)));
        models
    }

    /// The names a key may send that an alias renames: its own, its team's, its router settings'
    /// (else its team's).
    fn alias_names(&self, key: usize) -> Vec<String> {
        let k = &self.world.keys[key];
        let team = k.team.map(|t| &self.world.teams[t]);
        let router =
            if k.router_aliases.is_empty() { team.map(|t| &t.router_aliases) } else { Some(&k.router_aliases) };
        let mut names: Vec<String> = k.aliases.iter().map(|(n, _)| n.clone()).collect();
        names.extend(team.into_iter().flat_map(|t| t.aliases.iter().map(|(n, _)| n.clone())));
        names.extend(router.into_iter().flatten().map(|(n, _)| n.clone()));
        names
    }

    /// A model name to call through `key`: mostly one of its own, an alias it knows of, a model one
    /// of its access groups grants, sometimes any.
    pub(super) fn model_for(&mut self, key: usize) -> String {
        let aliases = self.alias_names(key);
        if !aliases.is_empty() && self.rng.random_bool(0.4) {
            return aliases.choose(&mut self.rng).cloned().unwrap_or_default();
        }
        let granted = self.world.group_models(&self.world.keys[key].groups);
        if !granted.is_empty() && self.rng.random_bool(0.3) {
            return model_name(*granted.choose(&mut self.rng).unwrap_or(&0));
        }
        let own: Vec<usize> = self.world.keys[key].models.iter().map(|e| e.model()).collect();
        match own.choose(&mut self.rng) {
            Some(&m) if self.rng.random_bool(0.8) => model_name(m),
            _ => model_name(self.rng.random_range(0..self.world.models.max(1))),
        }
    }

    /// Whether a key's model lists or aliases make its listing worth reading.
    pub(super) fn shapes_models(&self, key: usize) -> bool {
        let k = &self.world.keys[key];
        let team = k.team.map(|t| &self.world.teams[t]);
        !k.models.is_empty()
            || !k.groups.is_empty()
            || !k.aliases.is_empty()
            || !k.router_aliases.is_empty()
            || k.owner.is_some()
            || team.is_some_and(|t| !t.models.is_empty() || !t.aliases.is_empty() || !t.groups.is_empty())
    }

    /// A discovery route through a key the world knows (or a user's own key): the set it lists is
    /// what explore compares.
    pub(super) fn model_discovery(&mut self) {
        let actor = if self.world.users > 0 && (self.world.keys.is_empty() || self.rng.random_bool(0.2)) {
            key_actor(&user_key(self.rng.random_range(0..self.world.users)))
        } else {
            let key = self.pick_key();
            key_actor(&self.world.keys[key].var.clone())
        };
        self.list_models(actor);
    }

    pub(super) fn list_models(&mut self, actor: Actor) {
        let total: u32 = DISCOVERY_ROUTES.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.random_range(0..total);
        let mut route = DISCOVERY_ROUTES[0].0;
        for &(path, weight) in DISCOVERY_ROUTES {
            if pick < weight {
                route = path;
                break;
            }
            pick -= weight;
        }
        let step = StepBuilder::new(self.id("list-models"), actor, "GET", route);
        self.push(step);
    }

    /// After a change to what `key` may call: its listing or a call, sometimes.
    pub(super) fn observe_models(&mut self, key: usize, share: f64) {
        if self.world.models == 0 || !self.rng.random_bool(share) {
            return;
        }
        let var = self.world.keys[key].var.clone();
        if self.rng.random_bool(0.6) {
            self.list_models(key_actor(&var));
        } else {
            let model = self.model_for(key);
            let step = StepBuilder::new(self.id("chat"), key_actor(&var), "POST", "/chat/completions")
                .json(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}));
            self.push(step);
        }
    }

    /// An admin's key for `member` of `team`, to show what the member's scope allows.
    pub(super) fn member_key(&mut self, team: usize, member: usize) {
        if self.world.teams[team].blocked || self.world.teams[team].deleted {
            return;
        }
        let key = Key {
            var: format!("k{}", self.world.keys.len() + 1),
            team: Some(team),
            owner: Some(member),
            ..Key::default()
        };
        let index = self.admin_key(key, json!({"team_id": team_var(team), "user_id": user_id(member)}));
        if self.rng.random_bool(0.85) {
            self.list_models(key_actor(&format!("k{}", index + 1)));
        } else {
            self.observe_models(index, 1.0);
        }
    }

    /// An admin's personal key for `user`, to show what the user's `models` allow.
    pub(super) fn personal_key(&mut self, user: usize) {
        let key = Key { var: format!("k{}", self.world.keys.len() + 1), owner: Some(user), ..Key::default() };
        let index = self.admin_key(key, json!({"user_id": user_id(user)}));
        if self.rng.random_bool(0.85) {
            self.list_models(key_actor(&format!("k{}", index + 1)));
        } else {
            self.observe_models(index, 1.0);
        }
    }

    /// After a new access group granting models: an admin's key of a team the group is not assigned
    /// to, carrying the group (a key's own group may widen what its team allows).
    pub(super) fn key_with_group(&mut self, group: usize, assigned: &[usize]) {
        let teams: Vec<usize> = self
            .world
            .live_teams()
            .into_iter()
            .filter(|&t| {
                !assigned.contains(&t) && !self.world.teams[t].blocked && !self.world.teams[t].models.is_empty()
            })
            .collect();
        let Some(&team) = teams.choose(&mut self.rng) else { return };
        let key = Key {
            var: format!("k{}", self.world.keys.len() + 1),
            team: Some(team),
            groups: vec![group],
            ..Key::default()
        };
        let index = self
            .admin_key(key, json!({"team_id": team_var(team), "access_group_ids": [super::world::group_var(group)]}));
        self.observe_models(index, 0.9);
    }

    /// A key of `team` the world knows is live, if any; one with models of its own first.
    pub(super) fn key_of_team(&mut self, team: usize) -> Option<usize> {
        let keys: Vec<usize> =
            self.world.live_keys().into_iter().filter(|&k| self.world.keys[k].team == Some(team)).collect();
        let with_models: Vec<usize> = keys.iter().copied().filter(|&k| !self.world.keys[k].models.is_empty()).collect();
        with_models.choose(&mut self.rng).or_else(|| keys.choose(&mut self.rng)).copied()
    }
}
