-- MCP registry and unified access groups: the columns the reference proxy needs beyond 0001.
-- Column names follow LiteLLM's, since they appear on the wire.

ALTER TABLE mcp_servers
    ADD COLUMN created_by         TEXT,
    ADD COLUMN updated_by         TEXT,
    ADD COLUMN last_health_check  TIMESTAMPTZ,
    ADD COLUMN health_check_error TEXT;

ALTER TABLE access_groups
    ADD COLUMN access_agent_ids     TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN access_skill_names   TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN mcp_tool_permissions JSONB,
    ADD COLUMN created_by           TEXT,
    ADD COLUMN updated_by           TEXT;

-- Discovery and key checks look groups up by the ids teams and keys carry.
CREATE INDEX teams_access_group_ids ON teams USING GIN (access_group_ids);
CREATE INDEX verification_tokens_access_group_ids ON verification_tokens USING GIN (access_group_ids);
