-- Model aliases: a key's `aliases` and a team's `model_aliases`, each a JSON object from the name a
-- client sends to the model group it is served by. LiteLLM keeps the team's in a model table row;
-- one column on the team is the same data.
ALTER TABLE verification_tokens ADD COLUMN aliases JSONB NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN model_aliases JSONB NOT NULL DEFAULT '{}';
