-- +goose Up
-- The funding account deposits come from. It may go below zero: the sum of
-- all balances, this one included, is zero at every moment.
INSERT INTO ledger.accounts (account_number, kind, tier) VALUES ('0000000000', 'system', 'TIER_3');

CREATE TABLE ledger.transfers (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('transfer', 'deposit')),
    -- The idempotency key is (key_owner, reference): the caller's user id for
    -- transfers, the nil uuid for deposits. Kept for ever: it, not Temporal's
    -- retention, is the lasting guarantee of one movement per key.
    key_owner       uuid NOT NULL,
    reference       text NOT NULL CHECK (reference ~ '^[A-Za-z0-9._:-]{1,64}$'),
    request_hash    bytea NOT NULL,
    from_account_id bigint NOT NULL REFERENCES ledger.accounts (id),
    to_account_id   bigint NOT NULL REFERENCES ledger.accounts (id),
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        text NOT NULL DEFAULT 'NGN' CHECK (currency = 'NGN'),
    narration       text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED')),
    failure_code    text,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    UNIQUE (key_owner, reference),
    CHECK ((status = 'FAILED') = (failure_code IS NOT NULL))
);

CREATE TABLE ledger.entries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id   uuid NOT NULL REFERENCES ledger.transfers (id),
    account_id    bigint NOT NULL REFERENCES ledger.accounts (id),
    direction     text NOT NULL CHECK (direction IN ('DEBIT', 'CREDIT')),
    amount        bigint NOT NULL CHECK (amount > 0),
    balance_after bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (transfer_id, direction)
);
CREATE INDEX entries_account_newest ON ledger.entries (account_id, id DESC);

-- +goose Down
DROP TABLE ledger.entries;
DROP TABLE ledger.transfers;
DELETE FROM ledger.accounts WHERE kind = 'system';
