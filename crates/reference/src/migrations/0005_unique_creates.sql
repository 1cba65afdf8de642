-- One key per alias: LiteLLM requires unique key aliases but checks before it writes, so concurrent
-- /key/generate calls with one alias could all succeed. The database decides instead; NULL aliases
-- stay unconstrained.
CREATE UNIQUE INDEX verification_tokens_key_alias_unique ON verification_tokens (key_alias) WHERE key_alias IS NOT NULL;
