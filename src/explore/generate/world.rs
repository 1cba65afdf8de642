//! The generator's model of what exists on the target, and the names it gives things.
//!
//! Indexes are creation order (object `n` is variable `…{n+1}`). The world is updated as if every
//! request by an actor entitled to it succeeded; it only decides which requests carry captures and
//! which arguments are worth sending, never what a target should answer.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TeamRole {
    Admin,
    Member,
}

/// One entry of a key's `models`: a registered model, or a wildcard pattern that matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ModelEntry {
    Model(usize),
    Wildcard(usize),
}

impl ModelEntry {
    pub(super) fn model(self) -> usize {
        match self {
            ModelEntry::Model(m) | ModelEntry::Wildcard(m) => m,
        }
    }

    pub(super) fn text(self) -> String {
        match self {
            ModelEntry::Model(m) => model_name(m),
            ModelEntry::Wildcard(m) => format!("{}*", model_name(m)),
        }
    }
}

/// An alias: the name a client sends, and the model it is served by.
pub(super) type Alias = (String, usize);

#[derive(Debug, Default)]
pub(super) struct Team {
    pub(super) org: Option<usize>,
    pub(super) members: Vec<(usize, TeamRole)>,
    pub(super) tag_groups: Vec<usize>,
    pub(super) servers: Vec<usize>,
    /// Members may generate and update keys.
    pub(super) member_keys: bool,
    /// Members may attach access groups.
    pub(super) member_access_groups: bool,
    pub(super) blocked: bool,
    pub(super) deleted: bool,
    /// The team's `models` (empty: every model).
    pub(super) models: Vec<usize>,
    /// The unified access groups assigned to the team (its `access_group_ids`).
    pub(super) groups: Vec<usize>,
    /// `model_aliases`.
    pub(super) aliases: Vec<Alias>,
    /// `router_settings.model_group_alias`.
    pub(super) router_aliases: Vec<Alias>,
}

#[derive(Debug, Default)]
pub(super) struct Key {
    pub(super) var: String,
    pub(super) team: Option<usize>,
    pub(super) owner: Option<usize>,
    pub(super) models: Vec<ModelEntry>,
    pub(super) groups: Vec<usize>,
    pub(super) aliases: Vec<Alias>,
    pub(super) router_aliases: Vec<Alias>,
    pub(super) deleted: bool,
}

/// What answers behind a registered MCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Upstream {
    /// The healthy mock `mcp{n+1}`, whose one tool is `tool{n+1}`.
    Mock(usize),
    /// `mcpdown`: nothing listens.
    Down,
    /// `mcpslow`: never answers within the server's timeout.
    Slow,
}

impl Upstream {
    /// The tool a call names: the mock's own, or the troubled mocks' one tool.
    pub(super) fn tool(self) -> String {
        match self {
            Upstream::Mock(n) => format!("tool{}", n + 1),
            Upstream::Down | Upstream::Slow => super::TROUBLED_TOOL.to_string(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct AccessGroup {
    pub(super) models: Vec<usize>,
}

#[derive(Debug, Default)]
pub(super) struct World {
    pub(super) users: usize,
    /// Each user's `models` from `/user/new` (empty: every model).
    pub(super) user_models: Vec<Vec<usize>>,
    pub(super) orgs: Vec<Vec<usize>>,
    pub(super) teams: Vec<Team>,
    /// The registered MCP servers, by what answers behind each.
    pub(super) servers: Vec<Upstream>,
    pub(super) access_groups: Vec<AccessGroup>,
    pub(super) models: usize,
    pub(super) keys: Vec<Key>,
    pub(super) regenerated: usize,
    /// A completion was sent in flight across a write to its key (once per sequence: it is slow).
    pub(super) in_flight: bool,
}

impl World {
    pub(super) fn live_teams(&self) -> Vec<usize> {
        (0..self.teams.len()).filter(|&t| !self.teams[t].deleted).collect()
    }

    pub(super) fn live_keys(&self) -> Vec<usize> {
        (0..self.keys.len()).filter(|&k| !self.keys[k].deleted).collect()
    }

    pub(super) fn healthy_servers(&self) -> usize {
        self.servers.iter().filter(|u| matches!(u, Upstream::Mock(_))).count()
    }

    pub(super) fn team_role(&self, team: usize, user: usize) -> Option<TeamRole> {
        self.teams[team].members.iter().find(|(u, _)| *u == user).map(|(_, role)| *role)
    }

    pub(super) fn is_org_admin_of_team(&self, team: usize, user: usize) -> bool {
        self.teams[team].org.is_some_and(|org| self.orgs[org].contains(&user))
    }

    /// The models the unified access groups `groups` grant.
    pub(super) fn group_models(&self, groups: &[usize]) -> Vec<usize> {
        let mut models: Vec<usize> =
            groups.iter().flat_map(|&g| self.access_groups[g].models.iter().copied()).collect();
        models.sort_unstable();
        models.dedup();
        models
    }

    /// Whether a key of `team` may be given `entries` (the corrected proxy's ceiling: the team's
    /// models, widened by its access groups; a wildcard only within an open team).
    pub(super) fn within_team(&self, team: usize, entries: &[ModelEntry]) -> bool {
        let t = &self.teams[team];
        if t.models.is_empty() {
            return true;
        }
        let widened = self.group_models(&t.groups);
        entries.iter().all(|entry| match entry {
            ModelEntry::Model(m) => t.models.contains(m) || widened.contains(m),
            ModelEntry::Wildcard(_) => false,
        })
    }
}

pub(super) fn user_key(user: usize) -> String {
    format!("u{}_key", user + 1)
}

pub(super) fn user_id(user: usize) -> String {
    format!("u{}-{{{{run_id}}}}", user + 1)
}

pub(super) fn team_var(team: usize) -> String {
    format!("{{{{t{}}}}}", team + 1)
}

pub(super) fn org_var(org: usize) -> String {
    format!("{{{{o{}}}}}", org + 1)
}

pub(super) fn server_var(server: usize) -> String {
    format!("{{{{s{}}}}}", server + 1)
}

pub(super) fn group_var(group: usize) -> String {
    format!("{{{{ag{}}}}}", group + 1)
}

pub(super) fn tag_group(tag: usize) -> String {
    format!("g{}-{{{{run_id}}}}", tag + 1)
}

pub(super) fn model_name(model: usize) -> String {
    format!("m{}-{{{{run_id}}}}", model + 1)
}

pub(super) fn model_names(models: &[usize]) -> Vec<String> {
    models.iter().map(|&m| model_name(m)).collect()
}
