-- A key's `permissions`, LiteLLM's per-key capabilities; of them the reference reads
-- `get_spend_routes`, which opens the proxy-wide /global/spend routes to the key.
ALTER TABLE verification_tokens ADD COLUMN permissions JSONB NOT NULL DEFAULT '{}';
