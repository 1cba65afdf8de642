-- A key's and a team's `router_settings`; of them the reference reads `model_group_alias`, which
-- renames a requested model group before every other alias and before the model checks.
ALTER TABLE verification_tokens ADD COLUMN router_settings JSONB NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN router_settings JSONB NOT NULL DEFAULT '{}';
