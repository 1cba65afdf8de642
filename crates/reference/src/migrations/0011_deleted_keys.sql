-- The archive of the keys /key/delete removed, which /key/list?status=deleted reads. Each key row is
-- kept whole as JSON, so columns added to verification_tokens later need no change here.
CREATE TABLE deleted_keys (
    token      TEXT PRIMARY KEY,
    row        JSONB NOT NULL,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_by TEXT
);
