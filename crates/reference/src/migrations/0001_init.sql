-- The reference proxy's schema, modelled on LiteLLM's Prisma tables.
-- Column names follow LiteLLM's, since they appear on the wire.

CREATE TABLE object_permissions (
    object_permission_id TEXT PRIMARY KEY,
    mcp_servers          TEXT[] NOT NULL DEFAULT '{}',
    mcp_access_groups    TEXT[] NOT NULL DEFAULT '{}',
    mcp_tool_permissions JSONB,
    mcp_toolsets         TEXT[] NOT NULL DEFAULT '{}',
    models               TEXT[] NOT NULL DEFAULT '{}',
    vector_stores        TEXT[] NOT NULL DEFAULT '{}',
    agents               TEXT[] NOT NULL DEFAULT '{}'
);

CREATE TABLE budgets (
    budget_id       TEXT PRIMARY KEY,
    max_budget      DOUBLE PRECISION,
    soft_budget     DOUBLE PRECISION,
    budget_duration TEXT,
    budget_reset_at TIMESTAMPTZ,
    tpm_limit       BIGINT,
    rpm_limit       BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
    organization_id      TEXT PRIMARY KEY,
    organization_alias   TEXT NOT NULL,
    budget_id            TEXT REFERENCES budgets (budget_id),
    metadata             JSONB NOT NULL DEFAULT '{}',
    models               TEXT[] NOT NULL DEFAULT '{}',
    spend                DOUBLE PRECISION NOT NULL DEFAULT 0,
    object_permission_id TEXT REFERENCES object_permissions (object_permission_id),
    created_by           TEXT,
    updated_by           TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    user_id              TEXT PRIMARY KEY,
    user_alias           TEXT,
    user_email           TEXT,
    user_role            TEXT,
    teams                TEXT[] NOT NULL DEFAULT '{}',
    organization_id      TEXT,
    object_permission_id TEXT REFERENCES object_permissions (object_permission_id),
    max_budget           DOUBLE PRECISION,
    spend                DOUBLE PRECISION NOT NULL DEFAULT 0,
    models               TEXT[] NOT NULL DEFAULT '{}',
    metadata             JSONB NOT NULL DEFAULT '{}',
    budget_duration      TEXT,
    budget_reset_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (user_email) WHERE user_email IS NOT NULL;

CREATE TABLE teams (
    team_id                 TEXT PRIMARY KEY,
    team_alias              TEXT,
    organization_id         TEXT REFERENCES organizations (organization_id),
    object_permission_id    TEXT REFERENCES object_permissions (object_permission_id),
    members_with_roles      JSONB NOT NULL DEFAULT '[]',
    team_member_permissions TEXT[],
    access_group_ids        TEXT[] NOT NULL DEFAULT '{}',
    metadata                JSONB NOT NULL DEFAULT '{}',
    max_budget              DOUBLE PRECISION,
    spend                   DOUBLE PRECISION NOT NULL DEFAULT 0,
    models                  TEXT[] NOT NULL DEFAULT '{}',
    blocked                 BOOLEAN NOT NULL DEFAULT false,
    tpm_limit               BIGINT,
    rpm_limit               BIGINT,
    budget_duration         TEXT,
    budget_reset_at         TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE team_memberships (
    user_id   TEXT NOT NULL,
    team_id   TEXT NOT NULL REFERENCES teams (team_id) ON DELETE CASCADE,
    spend     DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_id TEXT REFERENCES budgets (budget_id),
    PRIMARY KEY (user_id, team_id)
);

CREATE TABLE organization_memberships (
    user_id         TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (organization_id) ON DELETE CASCADE,
    user_role       TEXT NOT NULL,
    spend           DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_id       TEXT REFERENCES budgets (budget_id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, organization_id)
);

-- Keys: only the SHA-256 hex of the raw `sk-` key is stored, never the key.
CREATE TABLE verification_tokens (
    token                TEXT PRIMARY KEY,
    key_name             TEXT,
    key_alias            TEXT,
    user_id              TEXT,
    team_id              TEXT,
    organization_id      TEXT,
    object_permission_id TEXT REFERENCES object_permissions (object_permission_id),
    access_group_ids     TEXT[] NOT NULL DEFAULT '{}',
    models               TEXT[] NOT NULL DEFAULT '{}',
    max_budget           DOUBLE PRECISION,
    spend                DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_duration      TEXT,
    budget_reset_at      TIMESTAMPTZ,
    expires              TIMESTAMPTZ,
    blocked              BOOLEAN NOT NULL DEFAULT false,
    metadata             JSONB NOT NULL DEFAULT '{}',
    allowed_routes       TEXT[] NOT NULL DEFAULT '{}',
    key_type             TEXT,
    tpm_limit            BIGINT,
    rpm_limit            BIGINT,
    created_by           TEXT,
    updated_by           TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX verification_tokens_team ON verification_tokens (team_id);
CREATE INDEX verification_tokens_user ON verification_tokens (user_id);

CREATE TABLE access_groups (
    access_group_id       TEXT PRIMARY KEY,
    access_group_name     TEXT NOT NULL UNIQUE,
    description           TEXT,
    access_model_names    TEXT[] NOT NULL DEFAULT '{}',
    access_mcp_server_ids TEXT[] NOT NULL DEFAULT '{}',
    assigned_team_ids     TEXT[] NOT NULL DEFAULT '{}',
    assigned_key_ids      TEXT[] NOT NULL DEFAULT '{}',
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE mcp_servers (
    server_id         TEXT PRIMARY KEY,
    server_name       TEXT,
    alias             TEXT,
    description       TEXT,
    url               TEXT,
    transport         TEXT NOT NULL DEFAULT 'sse',
    auth_type         TEXT,
    credentials       JSONB,
    mcp_access_groups TEXT[] NOT NULL DEFAULT '{}',
    allowed_tools     TEXT[] NOT NULL DEFAULT '{}',
    extra_headers     TEXT[] NOT NULL DEFAULT '{}',
    static_headers    JSONB,
    allow_all_keys    BOOLEAN NOT NULL DEFAULT false,
    status            TEXT,
    timeout           DOUBLE PRECISION,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE spend_logs (
    request_id        TEXT PRIMARY KEY,
    api_key           TEXT NOT NULL,
    spend             DOUBLE PRECISION NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    model             TEXT,
    team_id           TEXT,
    organization_id   TEXT,
    "user"            TEXT,
    "startTime"       TIMESTAMPTZ NOT NULL DEFAULT now(),
    "endTime"         TIMESTAMPTZ NOT NULL DEFAULT now()
);
