-- +goose Up
-- Who changed an account's tier, when, and on what kind of evidence (never
-- the number itself).
CREATE TABLE ledger.tier_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    uuid NOT NULL UNIQUE, -- the upgrade's idempotency key
    account_id    bigint NOT NULL REFERENCES ledger.accounts (id),
    from_tier     text NOT NULL,
    to_tier       text NOT NULL,
    evidence_type text NOT NULL CHECK (evidence_type IN ('NIN', 'BVN', 'ID_CARD')),
    changed_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tier_changes_account ON ledger.tier_changes (account_id, id);

-- +goose Down
DROP TABLE ledger.tier_changes;
