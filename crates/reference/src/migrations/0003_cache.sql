-- Branch `cache`: models registered through /model/new, and cross-replica cache invalidation.

-- LiteLLM_ProxyModelTable: deployments stored in the database (STORE_MODEL_IN_DB).
CREATE TABLE proxy_models (
    model_id       TEXT PRIMARY KEY,
    model_name     TEXT NOT NULL,
    litellm_params JSONB NOT NULL,
    model_info     JSONB NOT NULL DEFAULT '{}',
    created_by     TEXT,
    updated_by     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX proxy_models_name ON proxy_models (model_name);

-- Numbers invalidations in commit order (see src/reference/invalidation.rs).
CREATE SEQUENCE cache_invalidation_seq;

-- One row per listening proxy connection: the last invalidation it applied.
CREATE TABLE cache_listeners (
    listener_pid INTEGER PRIMARY KEY,
    applied_seq  BIGINT NOT NULL DEFAULT 0
);
