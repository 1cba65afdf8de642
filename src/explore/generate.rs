//! The generator: random but meaningful operation sequences, as ordinary scenarios.
//!
//! A [`World`] (`world.rs`) is the generator's model of what exists on the target: users (with their
//! keys and roles), organizations, teams (members, object permissions, member permissions), MCP
//! servers, access groups, models and virtual keys with the model lists and aliases of each
//! (`models.rs` holds the model-access operations). Each operation is chosen among those whose arguments the
//! world can fill, so most requests name objects created earlier in the sequence. The world is updated
//! as if every request by an actor entitled to it succeeded; the generator never sees a response, so
//! the same seed gives the same sequence on any target.
//!
//! Captures are only attached where the world predicts success (an admin creating something with
//! arguments it allows): a capture that fails stops the run on that target, which is right at a
//! divergence and a waste of the sequence anywhere else.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::{Value, json};

mod inflight;
mod models;
mod world;

use super::build::{StepBuilder, key_actor};
use crate::scenario::mock::{LlmMock, McpAnswer, McpFailure, McpMock, McpTool, MockKind, MockSpec};
use crate::scenario::{Actor, Capability, Location, ReferenceSettings, Scenario, Step};
use world::{
    AccessGroup, Key, ModelEntry, Team, TeamRole, Upstream, World, group_var, model_name, model_names, org_var,
    server_var, tag_group, team_var, user_id, user_key,
};

/// MCP mocks every sequence may register, one server each.
pub(crate) const MCP_MOCKS: usize = 3;
/// The most servers a sequence registers: every healthy mock, and one down or slow.
pub(crate) const MAX_SERVERS: usize = MCP_MOCKS + 1;
/// The mock nothing listens at, and the one that answers only after a minute.
const DOWN_MOCK: &str = "mcpdown";
const SLOW_MOCK: &str = "mcpslow";
/// The LLM upstream that answers after `inflight::SLOW_LLM_DELAY`.
const SLOW_LLM_MOCK: &str = "llmslow";
/// The one tool the troubled mocks offer (never listed: their listings fail).
const TROUBLED_TOOL: &str = "tool";
/// The slow server's timeout in seconds: far below the mock's minute, so every listing and call on
/// it times out, and cheap for the sequence.
const SLOW_SERVER_TIMEOUT: f64 = 0.05;
/// `mcp_access_groups` names an object permission may hold (`g1-{{run_id}}`…).
const TAG_GROUPS: usize = 3;
const MODELS: usize = 2;

/// What the generator may use.
#[derive(Clone, Debug)]
pub struct GeneratorOptions {
    /// `/organization/*` (a 1.109 proxy without a licence refuses them).
    pub organizations: bool,
    /// `/key/regenerate` (licence-gated on real LiteLLM).
    pub key_regenerate: bool,
    /// The replicas a sequence may use: 2 lets sequences with `reference: {replicas: 2}` and `on:` be
    /// generated (only when both targets can open two).
    pub max_replicas: usize,
    /// The longest sequence (operations).
    pub max_ops: usize,
    /// `/team/member_add` with the admin role (licence-gated on LiteLLM 1.109).
    pub team_admin_via_member_add: bool,
    /// The `/key/access_group_assignment` team member permission (unknown to LiteLLM 1.83).
    pub key_access_group_assignment: bool,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            organizations: true,
            key_regenerate: true,
            max_replicas: 2,
            max_ops: 36,
            team_admin_via_member_add: true,
            key_access_group_assignment: true,
        }
    }
}

impl GeneratorOptions {
    /// Leaves out what needs `capability`, when the generator uses it.
    pub fn without(&mut self, capability: Capability) {
        match capability {
            Capability::Organizations => self.organizations = false,
            Capability::KeyRegenerate => self.key_regenerate = false,
            Capability::TeamAdminViaMemberAdd => self.team_admin_via_member_add = false,
            Capability::KeyAccessGroupAssignment => self.key_access_group_assignment = false,
            _ => {}
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    UserNew,
    OrgNew,
    OrgMemberAdd,
    TeamNew,
    TeamUpdate,
    TeamBlock,
    TeamDelete,
    TeamMemberAdd,
    TeamInfo,
    ServerNew,
    TroubledServerNew,
    AccessGroupNew,
    ModelNew,
    KeyGenerate,
    KeyUpdate,
    KeyRegenerate,
    KeyDelete,
    KeyInfo,
    KeyBlock,
    Chat,
    OtherCompletion,
    ToolsList,
    ToolsCall,
    Discovery,
    ServerView,
    ArrayBody,
    ModelDiscovery,
    UserUpdate,
    SpendList,
    KeyList,
    TeammateKeyList,
    InFlightUpdate,
}

/// The mocks every generated sequence starts: one LLM provider and a slow one, [`MCP_MOCKS`] MCP servers with one
/// tool each (`tool1`…), and an MCP upstream that is down and one that is slow.
pub(crate) fn mocks() -> Vec<MockSpec> {
    let mut mocks = vec![MockSpec {
        name: "llm".to_string(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock::default()),
    }];
    mocks.push(MockSpec {
        name: SLOW_LLM_MOCK.to_string(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock { delay: inflight::SLOW_LLM_DELAY, ..LlmMock::default() }),
    });
    for n in 1..=MCP_MOCKS {
        mocks.push(MockSpec {
            name: format!("mcp{n}"),
            location: Location::default(),
            kind: MockKind::Mcp(McpMock {
                tools: vec![McpTool {
                    name: format!("tool{n}"),
                    description: None,
                    input_schema: json!({"type": "object"}),
                    result: None,
                    delay: std::time::Duration::ZERO,
                }],
                answer: McpAnswer::Json,
                failure: None,
            }),
        });
    }
    for (name, failure) in [(DOWN_MOCK, McpFailure::Down), (SLOW_MOCK, McpFailure::Slow(McpFailure::SLOW_DELAY))] {
        mocks.push(MockSpec {
            name: name.to_string(),
            location: Location::default(),
            kind: MockKind::Mcp(McpMock {
                tools: vec![McpTool {
                    name: TROUBLED_TOOL.to_string(),
                    description: None,
                    input_schema: json!({"type": "object"}),
                    result: None,
                    delay: std::time::Duration::ZERO,
                }],
                answer: McpAnswer::Json,
                failure: Some(failure),
            }),
        });
    }
    mocks
}

/// Sequence number `index` of a run with `seed`: a scenario whose steps have empty expectations.
pub fn sequence(seed: u64, index: u64, options: &GeneratorOptions) -> Scenario {
    let mut rng = sequence_rng(seed, index);
    let replicas = if options.max_replicas >= 2 && rng.random_bool(0.3) { 2 } else { 1 };
    let length = rng.random_range(6..=options.max_ops.max(6));
    let mut generator =
        Generator { rng, world: World::default(), options, replicas, steps: Vec::new(), recent_key: None };
    while generator.steps.len() < length {
        generator.next_op();
    }
    Scenario {
        source: format!("explored/seed-{seed}-sequence-{index}.yaml").into(),
        id: format!("explored-s{seed}-n{index}"),
        title: format!("Explored sequence {index} of seed {seed}"),
        description: None,
        upstream: None,
        tags: vec!["explored".to_string()],
        requires: Vec::new(),
        probed: Vec::new(),
        reference: ReferenceSettings { cache_ttl: None, replicas },
        mocks: mocks(),
        steps: generator.steps,
        reproduces: None,
    }
}

/// One generator per sequence, from the run's seed and the sequence's number alone, so sequences do
/// not depend on how many ran before or at once.
fn sequence_rng(seed: u64, index: u64) -> StdRng {
    use rand::SeedableRng;
    // SplitMix64's mixing step spreads neighbouring (seed, index) pairs apart.
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

struct Generator<'a> {
    rng: StdRng,
    world: World,
    options: &'a GeneratorOptions,
    replicas: usize,
    steps: Vec<Step>,
    recent_key: Option<usize>,
}

impl Generator<'_> {
    fn id(&self, what: &str) -> String {
        format!("op{:02}-{what}", self.steps.len() + 1)
    }

    fn on(&mut self) -> Option<usize> {
        (self.replicas > 1).then(|| self.rng.random_range(0..self.replicas))
    }

    fn push(&mut self, builder: StepBuilder) {
        let on = self.on();
        self.steps.push(builder.on(on).build());
    }

    /// A random subset of `0..n` (possibly empty).
    fn subset(&mut self, n: usize) -> Vec<usize> {
        (0..n).filter(|_| self.rng.random_bool(0.5)).collect()
    }

    fn subset_of(&mut self, items: &[usize]) -> Vec<usize> {
        items.iter().copied().filter(|_| self.rng.random_bool(0.5)).collect()
    }

    fn available(&self) -> Vec<(Op, u32)> {
        let w = &self.world;
        let has_users = w.users > 0;
        let has_teams = !w.live_teams().is_empty();
        let has_keys = !w.keys.is_empty();
        let has_servers = !w.servers.is_empty();
        let few = |n: usize, limit: usize, weight: u32| if n < limit { weight } else { 0 };
        let mut ops = vec![
            (Op::UserNew, few(w.users, 5, 6)),
            (Op::TeamNew, few(w.teams.len(), 4, 6)),
            (Op::ServerNew, few(w.healthy_servers(), MCP_MOCKS, 4)),
            // Models first: most model-access operations need one.
            (Op::ModelNew, few(w.models, MODELS, if w.models == 0 { 10 } else { 6 })),
            (Op::KeyGenerate, 10),
        ];
        if self.options.organizations {
            ops.push((Op::OrgNew, few(w.orgs.len(), 2, 3)));
            if has_users && !w.orgs.is_empty() {
                ops.push((Op::OrgMemberAdd, 3));
            }
        }
        if has_servers || has_teams || w.models > 0 {
            ops.push((Op::AccessGroupNew, few(w.access_groups.len(), 3, 6)));
        }
        if has_teams {
            ops.extend([(Op::TeamUpdate, 6), (Op::TeamBlock, 3), (Op::TeamDelete, 1), (Op::TeamInfo, 2)]);
            if has_users {
                ops.push((Op::TeamMemberAdd, 3));
            }
        }
        if has_keys {
            ops.extend([(Op::KeyUpdate, 6), (Op::KeyDelete, 1), (Op::KeyInfo, 6), (Op::Chat, 6)]);
            // Low weights: every new operation changes the sequences of a seed and dilutes the rest.
            ops.extend([(Op::KeyBlock, 1), (Op::OtherCompletion, 1)]);
            if self.options.key_regenerate {
                ops.push((Op::KeyRegenerate, 2));
            }
            if has_servers {
                ops.extend([(Op::ToolsList, 5), (Op::ToolsCall, 4), (Op::Discovery, 4), (Op::ServerView, 2)]);
            }
        }
        if has_users {
            ops.extend([(Op::ArrayBody, 1), (Op::UserUpdate, 2), (Op::SpendList, 2), (Op::KeyList, 1)]);
        }
        let troubled = w.servers.len() - w.healthy_servers();
        ops.push((Op::TroubledServerNew, few(troubled, 1, 1)));
        ops.push((Op::InFlightUpdate, few(usize::from(w.in_flight), 1, 1)));
        if w.models > 0 && (has_keys || has_users) {
            ops.push((Op::ModelDiscovery, 5));
        }
        if w.users >= 2 && !self.open_team_members().is_empty() {
            ops.push((Op::TeammateKeyList, 1));
        }
        ops.retain(|(_, weight)| *weight > 0);
        ops
    }

    fn next_op(&mut self) {
        let ops = self.available();
        let total: u32 = ops.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.random_range(0..total);
        let op = ops
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map_or(Op::UserNew, |(op, _)| *op);
        match op {
            Op::UserNew => self.user_new(),
            Op::OrgNew => self.org_new(),
            Op::OrgMemberAdd => self.org_member_add(),
            Op::TeamNew => self.team_new(),
            Op::TeamUpdate => self.team_update(),
            Op::TeamBlock => self.team_block(),
            Op::TeamDelete => self.team_delete(),
            Op::TeamMemberAdd => self.team_member_add(),
            Op::TeamInfo => self.team_info(),
            Op::ServerNew => self.server_new(),
            Op::TroubledServerNew => self.troubled_server_new(),
            Op::AccessGroupNew => self.access_group_new(),
            Op::ModelNew => self.model_new(),
            Op::KeyGenerate => self.key_generate(),
            Op::KeyUpdate => self.key_update(),
            Op::KeyRegenerate => self.key_regenerate(),
            Op::KeyDelete => self.key_delete(),
            Op::KeyInfo => self.key_info(),
            Op::KeyBlock => self.key_block(),
            Op::Chat => self.chat(),
            Op::OtherCompletion => self.other_completion(),
            Op::ToolsList => self.tools_list(),
            Op::ToolsCall => self.tools_call(),
            Op::Discovery => self.discovery(),
            Op::ServerView => self.server_view(),
            Op::ArrayBody => self.array_body(),
            Op::ModelDiscovery => self.model_discovery(),
            Op::UserUpdate => self.user_update(),
            Op::SpendList => self.spend_list(),
            Op::KeyList => self.key_list(),
            Op::TeammateKeyList => self.teammate_key_list(),
            Op::InFlightUpdate => self.in_flight_update(),
        }
    }

    /// A caller for a management request: the master key or one of the users (`Some(user)`).
    fn caller(&mut self, admin_share: f64) -> (Actor, Option<usize>) {
        if self.world.users == 0 || self.rng.random_bool(admin_share) {
            (Actor::Admin, None)
        } else {
            let user = self.rng.random_range(0..self.world.users);
            (key_actor(&user_key(user)), Some(user))
        }
    }

    /// A caller with some standing on `team`: its admin, a member, an org admin of its organization,
    /// or (less often) an outsider; the master key when there are no users.
    fn team_caller(&mut self, team: usize) -> (Actor, Option<usize>) {
        let mut insiders: Vec<usize> = self.world.teams[team].members.iter().map(|(u, _)| *u).collect();
        if let Some(org) = self.world.teams[team].org {
            insiders.extend(self.world.orgs[org].iter().copied());
        }
        match insiders.choose(&mut self.rng).copied() {
            Some(user) if self.rng.random_bool(0.8) => (key_actor(&user_key(user)), Some(user)),
            _ => self.caller(0.4),
        }
    }

    fn user_new(&mut self) {
        let user = self.world.users;
        self.world.users += 1;
        let mut body = serde_json::Map::new();
        body.insert("user_id".into(), json!(user_id(user)));
        body.insert("user_role".into(), json!("internal_user"));
        let models = self.user_models(&mut body);
        let scoped = !models.is_empty();
        self.world.user_models.push(models);
        let step = StepBuilder::new(self.id("user-new"), Actor::Admin, "POST", "/user/new")
            .json(Value::Object(body))
            .capture(&user_key(user), "$.key");
        self.push(step);
        // A user's scope shows through a personal key made for the user.
        if scoped && self.rng.random_bool(0.6) {
            self.personal_key(user);
        }
    }

    fn org_new(&mut self) {
        let org = self.world.orgs.len();
        self.world.orgs.push(Vec::new());
        let step = StepBuilder::new(self.id("org-new"), Actor::Admin, "POST", "/organization/new")
            .json(json!({"organization_alias": format!("o{}-{{{{run_id}}}}", org + 1)}))
            .capture(&format!("o{}", org + 1), "$.organization_id");
        self.push(step);
    }

    fn org_member_add(&mut self) {
        let org = self.rng.random_range(0..self.world.orgs.len());
        let user = self.rng.random_range(0..self.world.users);
        if !self.world.orgs[org].contains(&user) {
            self.world.orgs[org].push(user);
        }
        let step = StepBuilder::new(self.id("org-member-add"), Actor::Admin, "POST", "/organization/member_add")
            .json(json!({"organization_id": org_var(org), "member": {"user_id": user_id(user), "role": "org_admin"}}));
        self.push(step);
    }

    fn object_permission(&mut self, tags: &[usize], servers: &[usize]) -> Value {
        let mut permission = serde_json::Map::new();
        if !tags.is_empty() {
            permission
                .insert("mcp_access_groups".into(), json!(tags.iter().map(|&t| tag_group(t)).collect::<Vec<_>>()));
        }
        if !servers.is_empty() {
            permission.insert("mcp_servers".into(), json!(servers.iter().map(|&s| server_var(s)).collect::<Vec<_>>()));
        }
        Value::Object(permission)
    }

    fn team_new(&mut self) {
        let index = self.world.teams.len();
        let mut team = Team::default();
        let mut body = serde_json::Map::new();
        body.insert("team_alias".into(), json!(format!("t{}-{{{{run_id}}}}", index + 1)));
        if !self.world.orgs.is_empty() && self.rng.random_bool(0.4) {
            let org = self.rng.random_range(0..self.world.orgs.len());
            team.org = Some(org);
            body.insert("organization_id".into(), json!(org_var(org)));
        }
        if self.world.users > 0 && self.rng.random_bool(0.7) {
            let mut users: Vec<usize> = (0..self.world.users).collect();
            users.shuffle(&mut self.rng);
            let count = self.rng.random_range(1..=users.len().min(3));
            let mut members = Vec::new();
            for &user in &users[..count] {
                let role = if self.rng.random_bool(0.35) { TeamRole::Admin } else { TeamRole::Member };
                team.members.push((user, role));
                let role = if role == TeamRole::Admin { "admin" } else { "user" };
                members.push(json!({"user_id": user_id(user), "role": role}));
            }
            body.insert("members_with_roles".into(), Value::Array(members));
        }
        if self.rng.random_bool(0.6) {
            team.tag_groups = self.subset(TAG_GROUPS);
            team.servers = self.subset(self.world.servers.len());
            if !team.tag_groups.is_empty() || !team.servers.is_empty() {
                let permission = self.object_permission(&team.tag_groups.clone(), &team.servers.clone());
                body.insert("object_permission".into(), permission);
            }
        }
        if self.rng.random_bool(0.6) {
            team.member_keys = true;
            // No draw of its own for `/key/list`: a new draw would change every later operation.
            let mut permissions = vec!["/key/generate", "/key/update", "/key/list"];
            if self.rng.random_bool(0.3) && self.options.key_access_group_assignment {
                team.member_access_groups = true;
                permissions.push("/key/access_group_assignment");
            }
            body.insert("team_member_permissions".into(), json!(permissions));
        }
        self.world.teams.push(team);
        self.team_model_fields(index, &mut body);
        let step = StepBuilder::new(self.id("team-new"), Actor::Admin, "POST", "/team/new")
            .json(Value::Object(body))
            .capture(&format!("t{}", index + 1), "$.team_id");
        self.push(step);
    }

    /// Whether `user` (`None` for the master key) may manage `team` in the corrected proxy.
    fn may_manage(&self, team: usize, user: Option<usize>) -> bool {
        match user {
            None => true,
            Some(user) => {
                self.world.team_role(team, user) == Some(TeamRole::Admin) || self.world.is_org_admin_of_team(team, user)
            }
        }
    }

    fn pick_team(&mut self) -> usize {
        let live = self.world.live_teams();
        *live.choose(&mut self.rng).unwrap_or(&0)
    }

    fn team_body(&mut self, team: usize) -> serde_json::Map<String, Value> {
        let mut body = serde_json::Map::new();
        body.insert("team_id".into(), json!(team_var(team)));
        if let Some(org) = self.world.teams[team].org
            && self.rng.random_bool(0.3)
        {
            body.insert("organization_id".into(), json!(org_var(org)));
        }
        body
    }

    /// An admin's key for `team` asking for some of the MCP access groups the team has now: it reads
    /// the team's permission (through the cache, where one is kept).
    fn key_for_team_groups(&mut self, team: usize, prefer: &[usize]) {
        let tags = self.world.teams[team].tag_groups.clone();
        let mut asked = if prefer.is_empty() { self.subset_of(&tags) } else { prefer.to_vec() };
        if asked.is_empty()
            && let Some(&tag) = tags.choose(&mut self.rng)
        {
            asked.push(tag);
        }
        if asked.is_empty() || self.world.teams[team].blocked {
            return;
        }
        let key = Key { var: format!("k{}", self.world.keys.len() + 1), team: Some(team), ..Key::default() };
        let body = json!({"team_id": team_var(team), "object_permission": self.object_permission(&asked, &[])});
        let step = StepBuilder::new(self.id("key-generate"), Actor::Admin, "POST", "/key/generate")
            .json(body)
            .capture(&key.var, "$.key")
            .capture(&format!("{}_token", key.var), "$.token");
        self.world.keys.push(key);
        self.push(step);
    }

    fn team_update(&mut self) {
        let team = self.pick_team();
        if self.rng.random_bool(0.7) {
            self.key_for_team_groups(team, &[]);
        }
        let (actor, user) = if self.rng.random_bool(0.5) { (Actor::Admin, None) } else { self.team_caller(team) };
        let mut body = self.team_body(team);
        let allowed = self.may_manage(team, user);
        let mut added = Vec::new();
        let mut models_changed = false;
        let branches = if self.world.models > 0 { 4 } else { 3 };
        match self.rng.random_range(0..branches) {
            0 | 1 => {
                // Mostly a grant on top of what the team has; sometimes a new set.
                let mut tags = self.world.teams[team].tag_groups.clone();
                if self.rng.random_bool(0.3) {
                    tags = self.subset(TAG_GROUPS);
                }
                let extra = self.rng.random_range(0..TAG_GROUPS);
                if !tags.contains(&extra) {
                    tags.push(extra);
                    tags.sort_unstable();
                }
                let servers = self.subset(self.world.servers.len());
                body.insert("object_permission".into(), self.object_permission(&tags, &servers));
                if allowed {
                    let before = std::mem::replace(&mut self.world.teams[team].tag_groups, tags.clone());
                    added = tags.into_iter().filter(|t| !before.contains(t)).collect();
                    self.world.teams[team].servers = servers;
                }
            }
            2 => {
                body.insert("max_budget".into(), json!(if self.rng.random_bool(0.5) { 100.0 } else { 0.00001 }));
            }
            _ => {
                // Narrowing a team under its keys is where the key and team lists part; most of all
                // when it leaves out a model a key of the team names itself.
                let mut models = self.narrow_models();
                let mut named: Vec<usize> = self
                    .world
                    .live_keys()
                    .into_iter()
                    .filter(|&k| self.world.keys[k].team == Some(team))
                    .flat_map(|k| self.world.keys[k].models.iter().map(|e| e.model()))
                    .collect();
                // Without such a key, the admin makes one first: the team's every model, named.
                if self.world.models >= 2
                    && named.is_empty()
                    && !self.world.teams[team].blocked
                    && self.rng.random_bool(0.7)
                {
                    named = match &self.world.teams[team].models {
                        open if open.is_empty() => (0..self.world.models).collect(),
                        listed => listed.clone(),
                    };
                    let key = Key {
                        var: format!("k{}", self.world.keys.len() + 1),
                        team: Some(team),
                        models: named.iter().map(|&m| ModelEntry::Model(m)).collect(),
                        ..Key::default()
                    };
                    self.admin_key(key, json!({"team_id": team_var(team), "models": model_names(&named)}));
                }
                if self.world.models >= 2 && !named.is_empty() && self.rng.random_bool(0.8) {
                    let left_out = *named.choose(&mut self.rng).unwrap_or(&0);
                    models = (0..self.world.models).filter(|&m| m != left_out).collect();
                }
                body.insert("models".into(), json!(model_names(&models)));
                if allowed {
                    self.world.teams[team].models = models;
                    models_changed = true;
                }
            }
        }
        let step = StepBuilder::new(self.id("team-update"), actor, "POST", "/team/update").json(Value::Object(body));
        self.push(step);
        if models_changed && let Some(key) = self.key_of_team(team) {
            if self.rng.random_bool(0.8) {
                let var = self.world.keys[key].var.clone();
                self.list_models(key_actor(&var));
            } else {
                self.observe_models(key, 1.0);
            }
            return;
        }
        // A group the team was just given is the one a stale cache would refuse.
        if self.rng.random_bool(if added.is_empty() { 0.3 } else { 0.8 }) {
            self.key_for_team_groups(team, &added);
        }
    }

    fn team_block(&mut self) {
        let team = self.pick_team();
        // Framed by reads through a key of the team: the first caches the team, the second shows
        // whether the block reached that cache.
        let team_key = self.world.live_keys().into_iter().find(|&k| self.world.keys[k].team == Some(team));
        if let Some(key) = team_key
            && self.rng.random_bool(0.5)
        {
            self.observe_key(key);
        }
        let (actor, user) = self.team_caller(team);
        let body = self.team_body(team);
        let block = !self.world.teams[team].blocked || self.rng.random_bool(0.2);
        if self.may_manage(team, user) {
            self.world.teams[team].blocked = block;
        }
        let (what, path) = if block { ("team-block", "/team/block") } else { ("team-unblock", "/team/unblock") };
        let step = StepBuilder::new(self.id(what), actor, "POST", path).json(Value::Object(body));
        self.push(step);
        if let Some(key) = team_key
            && self.rng.random_bool(0.7)
        {
            self.observe_key(key);
        }
    }

    fn team_delete(&mut self) {
        let team = self.pick_team();
        // Sometimes framed by calls through a key of the team: the first caches the key, the second
        // shows whether the delete, which takes the team's keys with it, reached that cache.
        let team_key = self.world.live_keys().into_iter().find(|&k| self.world.keys[k].team == Some(team));
        let framed = team_key.filter(|_| self.rng.random_bool(0.6));
        if let Some(key) = framed {
            self.observe_key(key);
        }
        let (actor, user) = self.team_caller(team);
        let mut body = self.team_body(team);
        body.remove("team_id");
        body.insert("team_ids".into(), json!([team_var(team)]));
        if self.may_manage(team, user) {
            self.world.teams[team].deleted = true;
        }
        let step = StepBuilder::new(self.id("team-delete"), actor, "POST", "/team/delete").json(Value::Object(body));
        self.push(step);
        if let Some(key) = framed {
            self.observe_key(key);
        }
    }

    fn team_member_add(&mut self) {
        let team = self.pick_team();
        // A member's `allowed_models` matter for a new member, so a scoped add is mostly the admin's.
        let scoped = self.world.models > 0 && self.rng.random_bool(0.35);
        let (actor, caller) =
            if scoped && self.rng.random_bool(0.7) { (Actor::Admin, None) } else { self.team_caller(team) };
        let mut user = self.rng.random_range(0..self.world.users);
        if scoped {
            let outside: Vec<usize> =
                (0..self.world.users).filter(|&u| self.world.team_role(team, u).is_none()).collect();
            user = outside.choose(&mut self.rng).copied().unwrap_or(user);
        }
        let admin = self.rng.random_bool(0.3) && self.options.team_admin_via_member_add;
        let role = if admin { TeamRole::Admin } else { TeamRole::Member };
        let added = self.may_manage(team, caller) && self.world.team_role(team, user).is_none();
        if added {
            self.world.teams[team].members.push((user, role));
        }
        let role = if role == TeamRole::Admin { "admin" } else { "user" };
        let mut body = serde_json::Map::new();
        body.insert("team_id".into(), json!(team_var(team)));
        body.insert("member".into(), json!({"user_id": user_id(user), "role": role}));
        if scoped {
            let models = self.narrow_models();
            body.insert("allowed_models".into(), json!(model_names(&models)));
        }
        let step =
            StepBuilder::new(self.id("team-member-add"), actor, "POST", "/team/member_add").json(Value::Object(body));
        self.push(step);
        // A member's scope shows through a key made for that member.
        if scoped && self.world.team_role(team, user).is_some() && self.rng.random_bool(0.7) {
            self.member_key(team, user);
        }
    }

    fn team_info(&mut self) {
        let team = self.pick_team();
        let (actor, _) = self.team_caller(team);
        let step = StepBuilder::new(self.id("team-info"), actor, "GET", "/team/info").query("team_id", &team_var(team));
        self.push(step);
    }

    fn server_new(&mut self) {
        let mock = self.world.healthy_servers();
        self.register_server(Upstream::Mock(mock));
    }

    /// A server whose upstream is down or slow: listing and calling its tools must fail in the open
    /// (a 5xx naming the failure), never as an empty success. The slow one's timeout is a fraction
    /// of a second, so it costs a sequence little.
    fn troubled_server_new(&mut self) {
        let upstream = if self.rng.random_bool(0.5) { Upstream::Down } else { Upstream::Slow };
        self.register_server(upstream);
        let server = self.world.servers.len() - 1;
        if !self.rng.random_bool(0.7) {
            return;
        }
        // A key the admin grants this server alone, so what the proxy makes of the failure shows.
        let key = Key { var: format!("k{}", self.world.keys.len() + 1), ..Key::default() };
        let index = self.admin_key(key, json!({"object_permission": {"mcp_servers": [server_var(server)]}}));
        let var = self.world.keys[index].var.clone();
        let step = if self.rng.random_bool(0.5) {
            StepBuilder::new(self.id("tools-list"), key_actor(&var), "GET", "/mcp-rest/tools/list")
                .query("server_id", &server_var(server))
        } else {
            StepBuilder::new(self.id("tools-call"), key_actor(&var), "POST", "/mcp-rest/tools/call")
                .json(json!({"server_id": server_var(server), "name": upstream.tool(), "arguments": {}}))
        };
        self.push(step);
    }

    fn register_server(&mut self, upstream: Upstream) {
        let n = self.world.servers.len() + 1;
        self.world.servers.push(upstream);
        let mut body = json!({
            "server_name": format!("s{n}{{{{run_id}}}}"),
            "description": format!("explored-s{n}"),
            "transport": "http",
        });
        let mock = match upstream {
            Upstream::Mock(m) => format!("mcp{}", m + 1),
            Upstream::Down => DOWN_MOCK.to_string(),
            Upstream::Slow => {
                body["timeout"] = json!(SLOW_SERVER_TIMEOUT);
                SLOW_MOCK.to_string()
            }
        };
        body["url"] = json!(format!("{{{{mocks.{mock}.url}}}}"));
        let step = StepBuilder::new(self.id("mcp-server-new"), Actor::Admin, "POST", "/v1/mcp/server")
            .json(body)
            .capture(&format!("s{n}"), "$.server_id");
        self.push(step);
    }

    fn access_group_new(&mut self) {
        let group = self.world.access_groups.len();
        // A group grants something: at least one server when there is one, mostly a team too.
        let mut servers = self.subset(self.world.servers.len());
        if servers.is_empty() && !self.world.servers.is_empty() {
            servers.push(self.rng.random_range(0..self.world.servers.len()));
        }
        let live = self.world.live_teams();
        let mut teams = self.subset_of(&live);
        if teams.is_empty()
            && self.rng.random_bool(0.7)
            && let Some(&team) = live.choose(&mut self.rng)
        {
            teams.push(team);
        }
        let n = group + 1;
        let mut assigned: Vec<String> = teams.iter().map(|&t| team_var(t)).collect();
        // Now and then a team that does not exist: the corrected proxy refuses the group, so it is
        // neither captured nor known to the world.
        if self.rng.random_bool(0.08) {
            assigned.push("no-such-team-{{run_id}}".to_string());
            let step = StepBuilder::new(self.id("access-group-new"), Actor::Admin, "POST", "/v1/access_group")
                .json(json!({"access_group_name": format!("ag{n}x{{{{run_id}}}}"), "assigned_team_ids": assigned}));
            self.push(step);
            return;
        }
        let mut body = serde_json::Map::new();
        body.insert("access_group_name".into(), json!(format!("ag{n}{{{{run_id}}}}")));
        body.insert("access_mcp_server_ids".into(), json!(servers.iter().map(|&s| server_var(s)).collect::<Vec<_>>()));
        body.insert("assigned_team_ids".into(), json!(assigned));
        let models = self.group_models_field(&mut body);
        let step = StepBuilder::new(self.id("access-group-new"), Actor::Admin, "POST", "/v1/access_group")
            .json(Value::Object(body))
            .capture(&format!("ag{n}"), "$.access_group_id");
        self.world.access_groups.push(AccessGroup { models });
        for &team in &teams {
            self.world.teams[team].groups.push(group);
        }
        self.push(step);
        if !self.world.access_groups[group].models.is_empty() && self.rng.random_bool(0.4) {
            self.key_with_group(group, &teams);
            return;
        }
        // What the group grants shows through a key of a team it was assigned to.
        if let Some(&team) = teams.first()
            && !self.world.teams[team].blocked
            && self.rng.random_bool(0.6)
        {
            let key = Key { var: format!("k{}", self.world.keys.len() + 1), team: Some(team), ..Key::default() };
            let index = self.admin_key(key, json!({"team_id": team_var(team)}));
            if !self.world.access_groups[group].models.is_empty() {
                self.observe_models(index, 0.8);
                return;
            }
            if self.world.servers.is_empty() {
                return;
            }
            if self.rng.random_bool(0.5) { self.discovery() } else { self.tools_list() }
        }
    }

    fn key_generate(&mut self) {
        let (actor, user) = self.caller(0.5);
        let live = self.world.live_teams();
        let team = match user {
            Some(user) => {
                let own: Vec<usize> =
                    live.iter().copied().filter(|&t| self.world.team_role(t, user).is_some()).collect();
                if !own.is_empty() && self.rng.random_bool(0.8) {
                    own.choose(&mut self.rng).copied()
                } else if self.rng.random_bool(0.5) {
                    live.choose(&mut self.rng).copied()
                } else {
                    None
                }
            }
            None if self.rng.random_bool(0.8) => live.choose(&mut self.rng).copied(),
            None => None,
        };
        // An admin's key the world can rely on: inside the team's grants, for an unblocked team.
        let valid = user.is_none() && self.rng.random_bool(0.6);
        let mut body = serde_json::Map::new();
        let mut key = Key { var: format!("k{}", self.world.keys.len() + 1), team, owner: user, ..Key::default() };
        if let Some(team) = team {
            body.insert("team_id".into(), json!(team_var(team)));
        }
        if valid {
            key.owner = self.key_owner(team, &mut body);
        }
        // A non-admin naming an organization: only one it belongs to, in the corrected proxy.
        if user.is_some() && !self.world.orgs.is_empty() && self.rng.random_bool(0.2) {
            let org = self.rng.random_range(0..self.world.orgs.len());
            body.insert("organization_id".into(), json!(org_var(org)));
        }
        if user.is_some() && self.rng.random_bool(0.1) {
            if self.rng.random_bool(0.5) {
                body.insert("permissions".into(), json!({"allow_pii_controls": true}));
            } else {
                body.insert("disable_global_guardrails".into(), json!(true));
            }
        }
        self.key_model_fields(&mut key, &mut body);
        let (tag_pool, server_pool): (Vec<usize>, Vec<usize>) = match (valid, team) {
            (true, Some(t)) => (self.world.teams[t].tag_groups.clone(), self.world.teams[t].servers.clone()),
            (true, None) => (Vec::new(), Vec::new()),
            (false, _) => ((0..TAG_GROUPS).collect(), (0..self.world.servers.len()).collect()),
        };
        if self.rng.random_bool(0.4) {
            let tags = self.subset_of(&tag_pool);
            let servers = self.subset_of(&server_pool);
            if !tags.is_empty() || !servers.is_empty() {
                body.insert("object_permission".into(), self.object_permission(&tags, &servers));
            }
        }
        let mut with_groups = false;
        if !self.world.access_groups.is_empty() && self.rng.random_bool(0.45) {
            let mut groups = self.subset(self.world.access_groups.len());
            if groups.is_empty() {
                groups.push(self.rng.random_range(0..self.world.access_groups.len()));
            }
            with_groups = true;
            body.insert("access_group_ids".into(), json!(groups.iter().map(|&g| group_var(g)).collect::<Vec<_>>()));
            key.groups = groups;
        }
        if self.rng.random_bool(0.15) {
            body.insert("max_budget".into(), json!(if self.rng.random_bool(0.5) { 100.0 } else { 0.00001 }));
        }
        // Only an object permission drawn from outside the team's grants makes an admin's key unsure.
        let sure = valid || !body.contains_key("object_permission");
        let mut step =
            StepBuilder::new(self.id("key-generate"), actor, "POST", "/key/generate").json(Value::Object(body));
        let kept = user.is_none()
            && sure
            && team.is_none_or(|t| !self.world.teams[t].blocked && self.world.within_team(t, &key.models));
        if kept {
            step = step.capture(&key.var, "$.key").capture(&format!("{}_token", key.var), "$.token");
            self.world.keys.push(key);
            self.recent_key = Some(self.world.keys.len() - 1);
        }
        self.push(step);
        if kept && self.shapes_models(self.world.keys.len() - 1) {
            self.observe_models(self.world.keys.len() - 1, 0.75);
        }
        if kept && !self.world.servers.is_empty() && self.rng.random_bool(if with_groups { 0.9 } else { 0.4 }) {
            if self.rng.random_bool(0.5) { self.discovery() } else { self.tools_list() }
        }
    }

    /// The proxy admin makes `key` with `body`, and the world relies on it: its secret and hash are
    /// captured, and it becomes the key touched last. Returns its index.
    fn admin_key(&mut self, key: Key, body: Value) -> usize {
        let step = StepBuilder::new(self.id("key-generate"), Actor::Admin, "POST", "/key/generate")
            .json(body)
            .capture(&key.var, "$.key")
            .capture(&format!("{}_token", key.var), "$.token");
        self.world.keys.push(key);
        let index = self.world.keys.len() - 1;
        self.recent_key = Some(index);
        self.push(step);
        index
    }

    fn pick_key(&mut self) -> usize {
        // Mostly the key touched last: chains of operations on one key are where caches show.
        if let Some(recent) = self.recent_key
            && self.rng.random_bool(0.6)
        {
            return recent;
        }
        let live = self.world.live_keys();
        // A deleted or rotated key now and then: it must be refused everywhere.
        if live.is_empty() || self.rng.random_bool(0.08) {
            self.rng.random_range(0..self.world.keys.len())
        } else {
            *live.choose(&mut self.rng).unwrap_or(&0)
        }
    }

    /// A request through key `key` whose answer shows its current state: its own `/key/info`, or a
    /// completion when it has a model.
    fn observe_key(&mut self, key: usize) {
        let var = self.world.keys[key].var.clone();
        let models = self.world.keys[key].models.clone();
        let step = match models.choose(&mut self.rng) {
            Some(&entry) if self.rng.random_bool(0.5) => {
                StepBuilder::new(self.id("chat"), key_actor(&var), "POST", "/chat/completions")
                    .json(json!({"model": model_name(entry.model()), "messages": [{"role": "user", "content": "hi"}]}))
            }
            _ => StepBuilder::new(self.id("key-info"), key_actor(&var), "GET", "/key/info"),
        };
        self.push(step);
    }

    fn key_update(&mut self) {
        let key = self.pick_key();
        self.recent_key = Some(key);
        // A write is interesting between two reads: the first caches the key, the second shows
        // whether the write reached every cache.
        if self.rng.random_bool(0.5) {
            self.observe_key(key);
        }
        let (actor, user) = match (self.world.keys[key].team, self.world.keys[key].owner) {
            (Some(team), _) if self.rng.random_bool(0.3) => self.team_caller(team),
            (None, Some(owner)) if self.rng.random_bool(0.5) => (key_actor(&user_key(owner)), Some(owner)),
            _ => (Actor::Admin, None),
        };
        let var = self.world.keys[key].var.clone();
        let by = if self.rng.random_bool(0.5) { format!("{{{{{var}_token}}}}") } else { format!("{{{{{var}}}}}") };
        let mut body = serde_json::Map::new();
        body.insert("key".into(), json!(by));
        match self.rng.random_range(0..4) {
            0 => {
                body.insert("blocked".into(), json!(self.rng.random_bool(0.7)));
            }
            1 => {
                body.insert("max_budget".into(), json!(if self.rng.random_bool(0.6) { 0.00001 } else { 100.0 }));
            }
            2 if self.world.models > 0 => {
                let models = self.model_entries();
                body.insert("models".into(), json!(models.iter().map(|e| e.text()).collect::<Vec<_>>()));
                let within = self.world.keys[key].team.is_none_or(|t| self.world.within_team(t, &models));
                if user.is_none() && within {
                    self.world.keys[key].models = models;
                }
            }
            _ if !self.world.access_groups.is_empty() => {
                let groups = self.subset(self.world.access_groups.len());
                body.insert("access_group_ids".into(), json!(groups.iter().map(|&g| group_var(g)).collect::<Vec<_>>()));
                if user.is_none() {
                    self.world.keys[key].groups = groups;
                }
            }
            _ => {
                body.insert("blocked".into(), json!(false));
            }
        }
        let step = StepBuilder::new(self.id("key-update"), actor, "POST", "/key/update").json(Value::Object(body));
        self.push(step);
        if self.rng.random_bool(0.7) {
            self.observe_key(key);
        }
    }

    fn key_regenerate(&mut self) {
        let key = self.pick_key();
        let old = &self.world.keys[key];
        self.world.regenerated += 1;
        let var = format!("k{}", self.world.keys.len() + 1);
        let fresh = Key {
            var: var.clone(),
            team: old.team,
            owner: old.owner,
            models: old.models.clone(),
            groups: old.groups.clone(),
            aliases: old.aliases.clone(),
            router_aliases: old.router_aliases.clone(),
            deleted: false,
        };
        let body = json!({"key": format!("{{{{{}}}}}", old.var)});
        let mut step = StepBuilder::new(self.id("key-regenerate"), Actor::Admin, "POST", "/key/regenerate").json(body);
        if !old.deleted {
            step = step.capture(&var, "$.key").capture(&format!("{var}_token"), "$.token");
            self.world.keys[key].deleted = true;
            self.world.keys.push(fresh);
            self.recent_key = Some(self.world.keys.len() - 1);
        }
        self.push(step);
        // The old key must be refused at once, wherever it was cached.
        if self.rng.random_bool(0.5) {
            self.observe_key(key);
        }
    }

    fn key_delete(&mut self) {
        let key = self.pick_key();
        self.world.keys[key].deleted = true;
        let body = json!({"keys": [format!("{{{{{}}}}}", self.world.keys[key].var)]});
        let step = StepBuilder::new(self.id("key-delete"), Actor::Admin, "POST", "/key/delete").json(body);
        self.push(step);
        if self.rng.random_bool(0.5) {
            self.observe_key(key);
        }
    }

    fn key_info(&mut self) {
        let key = self.pick_key();
        let var = self.world.keys[key].var.clone();
        let step = if self.rng.random_bool(0.6) {
            StepBuilder::new(self.id("key-info"), key_actor(&var), "GET", "/key/info")
        } else {
            let (actor, _) = self.caller(0.5);
            StepBuilder::new(self.id("key-info"), actor, "GET", "/key/info").query("key", &format!("{{{{{var}}}}}"))
        };
        self.push(step);
    }

    /// A key to call through, and a model for it: mostly one of its own, sometimes any.
    fn key_and_model(&mut self) -> (String, String) {
        let key = self.pick_key();
        let var = self.world.keys[key].var.clone();
        (var, self.model_for(key))
    }

    fn chat(&mut self) {
        let (var, model) = self.key_and_model();
        let step = StepBuilder::new(self.id("chat"), key_actor(&var), "POST", "/chat/completions")
            .json(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}));
        self.push(step);
    }

    /// `/key/block` or `/key/unblock`, by the key's admins or (less often) anyone with standing on its
    /// team, framed by reads through the key.
    fn key_block(&mut self) {
        let key = self.pick_key();
        self.recent_key = Some(key);
        if self.rng.random_bool(0.5) {
            self.observe_key(key);
        }
        let (actor, _) = match self.world.keys[key].team {
            Some(team) if self.rng.random_bool(0.5) => self.team_caller(team),
            _ => self.caller(0.6),
        };
        let var = self.world.keys[key].var.clone();
        let by = if self.rng.random_bool(0.5) { format!("{{{{{var}_token}}}}") } else { format!("{{{{{var}}}}}") };
        let (what, path) =
            if self.rng.random_bool(0.7) { ("key-block", "/key/block") } else { ("key-unblock", "/key/unblock") };
        let step = StepBuilder::new(self.id(what), actor, "POST", path).json(json!({"key": by}));
        self.push(step);
        if self.rng.random_bool(0.7) {
            self.observe_key(key);
        }
    }

    /// `/embeddings` or `/completions` through a key: the model access of `/chat/completions`.
    fn other_completion(&mut self) {
        let (var, model) = self.key_and_model();
        let step = if self.rng.random_bool(0.5) {
            StepBuilder::new(self.id("embeddings"), key_actor(&var), "POST", "/embeddings")
                .json(json!({"model": model, "input": "hi"}))
        } else {
            StepBuilder::new(self.id("completions"), key_actor(&var), "POST", "/completions")
                .json(json!({"model": model, "prompt": "hi"}))
        };
        self.push(step);
    }

    fn tools_list(&mut self) {
        let key = self.pick_key();
        let var = self.world.keys[key].var.clone();
        let mut step = StepBuilder::new(self.id("tools-list"), key_actor(&var), "GET", "/mcp-rest/tools/list");
        if !self.world.servers.is_empty() && self.rng.random_bool(0.3) {
            let server = self.rng.random_range(0..self.world.servers.len());
            step = step.query("server_id", &server_var(server));
        }
        self.push(step);
    }

    fn tools_call(&mut self) {
        let key = self.pick_key();
        let var = self.world.keys[key].var.clone();
        let server = self.rng.random_range(0..self.world.servers.len());
        let step = StepBuilder::new(self.id("tools-call"), key_actor(&var), "POST", "/mcp-rest/tools/call")
            .json(json!({"server_id": server_var(server), "name": self.world.servers[server].tool(), "arguments": {}}));
        self.push(step);
    }

    /// One server's page through a key: `GET /v1/mcp/server/{id}`.
    fn server_view(&mut self) {
        // Mostly a key of a team that grants servers: the page must follow what the team grants.
        let granted_keys: Vec<usize> = self
            .world
            .live_keys()
            .into_iter()
            .filter(|&k| self.world.keys[k].team.is_some_and(|t| !self.world.teams[t].servers.is_empty()))
            .collect();
        let key = match granted_keys.choose(&mut self.rng) {
            Some(&key) if self.rng.random_bool(0.7) => key,
            _ => self.pick_key(),
        };
        let var = self.world.keys[key].var.clone();
        // Mostly a server the key's team grants: the page must follow the grant discovery shows.
        let granted = self.world.keys[key].team.map(|t| self.world.teams[t].servers.clone()).unwrap_or_default();
        let server = match granted.choose(&mut self.rng) {
            Some(&server) if self.rng.random_bool(0.7) => server,
            _ => self.rng.random_range(0..self.world.servers.len()),
        };
        let path = format!("/v1/mcp/server/{}", server_var(server));
        let step = StepBuilder::new(self.id("server-view"), key_actor(&var), "GET", &path);
        self.push(step);
    }

    /// A management write whose body is a JSON array, not an object: bad input, never a 5xx.
    fn array_body(&mut self) {
        let (actor, _) = self.caller(0.0);
        let path = *["/key/generate", "/team/new", "/key/update"].choose(&mut self.rng).unwrap_or(&"/key/generate");
        let step = StepBuilder::new(self.id("array-body"), actor, "POST", path).json(json!([]));
        self.push(step);
    }

    /// `/user/update` on a user's own row or another's: mostly by an org admin naming its
    /// organization (the route gate's way in for a non-admin), which may change its alias but not
    /// its own budget.
    fn user_update(&mut self) {
        let org_admins: Vec<(usize, usize)> =
            self.world.orgs.iter().enumerate().flat_map(|(o, users)| users.iter().map(move |&u| (o, u))).collect();
        let mut body = serde_json::Map::new();
        let actor = match org_admins.choose(&mut self.rng).copied() {
            Some((org, user)) if self.rng.random_bool(0.8) => {
                // Mostly its own row; now and then someone else's.
                let target = if self.rng.random_bool(0.8) { user } else { self.rng.random_range(0..self.world.users) };
                body.insert("user_id".into(), json!(user_id(target)));
                body.insert("organization_id".into(), json!(org_var(org)));
                key_actor(&user_key(user))
            }
            _ => {
                let (actor, caller) = self.caller(0.5);
                let target = match caller {
                    Some(user) if self.rng.random_bool(0.6) => user,
                    _ => self.rng.random_range(0..self.world.users),
                };
                body.insert("user_id".into(), json!(user_id(target)));
                actor
            }
        };
        if self.rng.random_bool(0.6) {
            body.insert("max_budget".into(), json!(if self.rng.random_bool(0.7) { 1000.0 } else { 0.00001 }));
        } else {
            body.insert("user_alias".into(), json!(format!("alias-{}", self.steps.len() + 1)));
        }
        let step = StepBuilder::new(self.id("user-update"), actor, "POST", "/user/update").json(Value::Object(body));
        self.push(step);
    }

    /// `/spend/keys` or `/spend/users` (sometimes for one user): whose rows a caller sees.
    fn spend_list(&mut self) {
        let (actor, _) = self.caller(0.2);
        let step = if self.rng.random_bool(0.4) {
            StepBuilder::new(self.id("spend-keys"), actor, "GET", "/spend/keys")
        } else {
            let step = StepBuilder::new(self.id("spend-users"), actor, "GET", "/spend/users");
            if self.rng.random_bool(0.6) {
                let user = self.rng.random_range(0..self.world.users);
                step.query("user_id", &user_id(user))
            } else {
                step
            }
        };
        self.push(step);
    }

    /// `/key/list`, mostly by the proxy admin: by `user_id`, now and then with the id in another case
    /// (an exact filter matches no user then, a substring filter matches one); a user asks as often
    /// for its teams' keys (`include_team_keys`), which its team's `/key/list` permission widens.
    fn key_list(&mut self) {
        let (actor, caller) = self.caller(0.7);
        let user = match caller {
            Some(own) if self.rng.random_bool(0.5) => own,
            _ => self.rng.random_range(0..self.world.users),
        };
        let flip = self.rng.random_bool(0.5);
        let step = match caller {
            // The member with the most to see, when there is one: another user's key in a team whose
            // members may manage keys (no draw of its own, so later operations stay as they were).
            Some(_) if flip => {
                let actor = self.member_with_teammate_keys().map_or(actor, |u| key_actor(&user_key(u)));
                StepBuilder::new(self.id("key-list"), actor, "GET", "/key/list").query("include_team_keys", "true")
            }
            _ => {
                let id = user_id(user);
                StepBuilder::new(self.id("key-list"), actor, "GET", "/key/list")
                    .query("user_id", &if flip { id.replacen('u', "U", 1) } else { id })
            }
        };
        self.push(step.query("return_full_object", "true").query("size", "100"));
    }

    /// The members (role user) of live teams whose members may manage keys, with their team.
    fn open_team_members(&self) -> Vec<(usize, usize)> {
        let open = self.world.teams.iter().enumerate().filter(|(_, t)| t.member_keys && !t.deleted);
        open.flat_map(|(index, team)| {
            team.members.iter().filter(|(_, role)| *role == TeamRole::Member).map(move |(u, _)| (index, *u))
        })
        .collect()
    }

    /// The proxy admin makes a key in a team for another user than one of its members, then that
    /// member lists the team's keys: what the team's `/key/list` permission shows it.
    fn teammate_key_list(&mut self) {
        let members = self.open_team_members();
        let Some(&(team, member)) = members.choose(&mut self.rng) else { return };
        let other = (member + 1 + self.rng.random_range(0..self.world.users - 1)) % self.world.users;
        let key = Key {
            var: format!("k{}", self.world.keys.len() + 1),
            team: Some(team),
            owner: Some(other),
            ..Key::default()
        };
        self.admin_key(key, json!({"team_id": team_var(team), "user_id": user_id(other)}));
        let step = StepBuilder::new(self.id("key-list"), key_actor(&user_key(member)), "GET", "/key/list")
            .query("include_team_keys", "true")
            .query("return_full_object", "true")
            .query("size", "100");
        self.push(step);
    }

    /// The first member (role user) of a live team whose members may manage keys, and which holds
    /// a live key another user owns.
    fn member_with_teammate_keys(&self) -> Option<usize> {
        let keys = &self.world.keys;
        let owned_by_another = |team: usize, member: usize| {
            keys.iter().any(|k| !k.deleted && k.team == Some(team) && k.owner.is_some_and(|o| o != member))
        };
        self.open_team_members().into_iter().find(|&(team, member)| owned_by_another(team, member)).map(|(_, m)| m)
    }

    fn discovery(&mut self) {
        let key = self.pick_key();
        let var = self.world.keys[key].var.clone();
        let step = StepBuilder::new(self.id("discovery"), key_actor(&var), "GET", "/v1/mcp/server");
        self.push(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Body;

    fn body(step: &Step) -> String {
        match step.request.as_ref().and_then(|r| r.body.as_ref()) {
            Some(Body::Json(json)) => json.to_string(),
            _ => String::new(),
        }
    }

    fn path(step: &Step) -> &str {
        step.request.as_ref().map_or("", |r| r.path.as_str())
    }

    #[test]
    fn every_variable_a_step_reads_was_captured_before_it() {
        for (seed, index) in (1..=3).flat_map(|seed| (0..200).map(move |index| (seed, index))) {
            let scenario = sequence(seed, index, &GeneratorOptions::default());
            let mut known: Vec<String> = vec!["run_id".into()];
            known.extend(scenario.mocks.iter().map(|m| m.url_variable()));
            for step in &scenario.steps {
                for var in crate::explore::shrink::uses(step) {
                    assert!(
                        known.contains(&var),
                        "sequence {index}, {}: `{var}` ({} {})",
                        step.id,
                        path(step),
                        body(step)
                    );
                }
                known.extend(step.capture.iter().map(|c| c.variable.clone()));
            }
            assert!(scenario.steps.len() >= 6, "sequence {index} is too short");
        }
    }

    /// What `key_update_gates_only_budget` needs: the owner of a personal key the proxy admin made
    /// updating it, which the corrected proxy refuses.
    #[test]
    fn owners_update_personal_keys_the_admin_made_for_them() {
        let found = (0..300).any(|index| {
            let scenario = sequence(1, index, &GeneratorOptions::default());
            let mut admin_made: Vec<String> = Vec::new();
            scenario.steps.iter().any(|step| {
                let Some(request) = &step.request else { return false };
                let json = body(step);
                if path(step) == "/key/generate"
                    && matches!(request.actor, Actor::Admin)
                    && json.contains("\"user_id\"")
                    && !json.contains("team_id")
                {
                    admin_made.extend(step.capture.iter().map(|c| format!("{{{{{}}}}}", c.variable)));
                }
                path(step) == "/key/update"
                    && matches!(request.actor, Actor::Key(_))
                    && admin_made.iter().any(|var| json.contains(var.as_str()))
            })
        });
        assert!(found, "no sequence has an owner updating a personal key the admin made");
    }

    /// What the organization, user, spend and upstream-failure quirks need, each in some sequence.
    #[test]
    fn sequences_reach_organizations_users_spend_and_failing_upstreams() {
        let steps: Vec<Step> =
            (0..300).flat_map(|index| sequence(1, index, &GeneratorOptions::default()).steps).collect();
        let by_key = |s: &Step| s.request.as_ref().is_some_and(|r| matches!(r.actor, Actor::Key(_)));
        let query = |s: &Step, name: &str| s.request.as_ref().is_some_and(|r| r.query.iter().any(|(n, _)| n == name));
        let has = |what: &str, test: &dyn Fn(&Step) -> bool| assert!(steps.iter().any(test), "no {what}");
        has("key in an organization by a user", &|s| {
            path(s) == "/key/generate" && by_key(s) && body(s).contains("organization_id")
        });
        has("user raising its budget as org admin", &|s| {
            path(s) == "/user/update"
                && by_key(s)
                && body(s).contains("organization_id")
                && body(s).contains("max_budget")
        });
        has("spend row of one user", &|s| path(s) == "/spend/users" && by_key(s) && query(s, "user_id"));
        has("key spend list", &|s| path(s) == "/spend/keys" && by_key(s));
        for mock in [DOWN_MOCK, SLOW_MOCK] {
            has(mock, &|s| path(s) == "/v1/mcp/server" && body(s).contains(&format!("mocks.{mock}.url")));
        }
        has("slow server with a timeout", &|s| body(s).contains("\"timeout\":0.05"));
        has("tools of one server", &|s| path(s) == "/mcp-rest/tools/list" && query(s, "server_id"));
        has("call of the troubled tool", &|s| {
            path(s) == "/mcp-rest/tools/call" && body(s).contains(&format!("\"name\":\"{TROUBLED_TOOL}\""))
        });
        let user_filter = |s: &Step, first: char| {
            s.request
                .as_ref()
                .is_some_and(|r| r.query.iter().any(|(n, v)| n == "user_id" && v.as_str().starts_with(first)))
        };
        has("key listing of one user", &|s| path(s) == "/key/list" && user_filter(s, 'u'));
        has("key listing of one user in another case", &|s| path(s) == "/key/list" && user_filter(s, 'U'));
        has("member listing its teams' keys", &|s| {
            path(s) == "/key/list" && by_key(s) && query(s, "include_team_keys")
        });
    }

    #[test]
    fn sequences_reach_every_model_access_source() {
        let steps: Vec<Step> =
            (0..300).flat_map(|index| sequence(1, index, &GeneratorOptions::default()).steps).collect();
        let has = |route: &str, field: &str| {
            steps.iter().any(|s| path(s) == route && (field.is_empty() || body(s).contains(&format!("\"{field}\""))))
        };
        for route in ["/v1/models", "/models", "/model/info", "/v2/model/info", "/model_group/info"] {
            assert!(has(route, ""), "no {route}");
        }
        assert!(has("/team/new", "models") && has("/team/update", "models"), "no team models");
        assert!(has("/team/new", "model_aliases") && has("/team/new", "router_settings"), "no team aliases");
        assert!(has("/team/member_add", "allowed_models"), "no member scope");
        assert!(has("/user/new", "models"), "no user models");
        assert!(has("/v1/access_group", "access_model_names"), "no access group models");
        assert!(has("/key/generate", "aliases") && has("/key/generate", "router_settings"), "no key aliases");
        assert!(has("/key/generate", "user_id"), "no admin key for a user");
        let wildcard = steps.iter().any(|s| path(s) == "/key/generate" && body(s).contains(r#"-{{run_id}}*""#));
        assert!(wildcard, "no wildcard in a key's models");
    }
}
