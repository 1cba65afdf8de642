-- One key per alias: LiteLLM requires unique key aliases but checks before it writes, so concurrent
-- /key/generate calls with one alias could all succeed. The database decides instead; NULL aliases
-- stay unconstrained. The index holds the alias's digest, so an alias too long for a btree row
-- (about 2.7 kB) is still accepted, as LiteLLM accepts it.
CREATE UNIQUE INDEX verification_tokens_key_alias_unique ON verification_tokens (md5(key_alias)) WHERE key_alias IS NOT NULL;
