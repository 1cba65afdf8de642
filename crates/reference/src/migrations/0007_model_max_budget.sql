-- A key's per-model budgets (`model_max_budget`): a JSON object from model name to
-- {budget_limit, time_period}. Spend per key and model is summed from the spend logs over the
-- period, so they are indexed that way.
ALTER TABLE verification_tokens ADD COLUMN model_max_budget JSONB NOT NULL DEFAULT '{}';
CREATE INDEX spend_logs_key_model ON spend_logs (api_key, model, "startTime");
