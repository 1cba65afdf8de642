-- The deployment's own model (`litellm_params.model`, e.g. `openai/gpt-4o`) beside the model group a
-- request was served as; LiteLLM's /global/spend/models reports spend per deployment model.
ALTER TABLE spend_logs ADD COLUMN deployment_model TEXT;
