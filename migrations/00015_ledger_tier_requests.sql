-- +goose Up
-- The outcome of each tier upgrade decided under its account's lock, under
-- the upgrade's request id (derived from the caller, the account and the
-- Idempotency-Key): a retry with the same body gets the first outcome again
-- (also after Temporal's retention), another body IDEMPOTENCY_KEY_REUSED.
-- request_hash is an HMAC (IDENTITY_KEY) of account, tier and evidence:
-- it reveals no KYC number.
CREATE TABLE ledger.tier_requests (
    request_id   uuid PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES ledger.accounts (id),
    request_hash bytea NOT NULL,
    status       text NOT NULL CHECK (status IN ('COMPLETED', 'FAILED')),
    failure_code text CHECK ((status = 'FAILED') = (failure_code IS NOT NULL)),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE ledger.tier_requests;
