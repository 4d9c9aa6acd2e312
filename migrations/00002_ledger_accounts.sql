-- +goose Up
CREATE SCHEMA IF NOT EXISTS ledger;

CREATE TABLE ledger.accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_number text NOT NULL UNIQUE CHECK (account_number ~ '^[0-9]{10}$'),
    -- owner_id is auth.users.id; no foreign key, as schemas do not reference
    -- each other. System accounts have no owner.
    owner_id       uuid,
    kind           text NOT NULL CHECK (kind IN ('customer', 'system')),
    is_default     boolean NOT NULL DEFAULT false,
    tier           text NOT NULL CHECK (tier IN ('TIER_1', 'TIER_2', 'TIER_3')),
    balance        bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'system' OR balance >= 0),
    CHECK ((kind = 'system') = (owner_id IS NULL))
);
-- One default account per user: provisioning is idempotent by user id.
CREATE UNIQUE INDEX accounts_default_per_owner ON ledger.accounts (owner_id) WHERE is_default;
CREATE INDEX accounts_owner_id ON ledger.accounts (owner_id);

-- +goose Down
DROP SCHEMA ledger CASCADE;
