-- +goose Up
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email)),
    full_name     text NOT NULL,
    phone         text,
    role          text NOT NULL CHECK (role IN ('customer', 'operator')),
    password_hash text NOT NULL,
    -- The registration that created the user (its workflow id) and an HMAC of
    -- its canonical request, so a retried registration is recognised as the
    -- same one. Operators have neither.
    registration_id          text UNIQUE,
    registration_fingerprint bytea,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON auth.users (email);

-- KYC evidence is kept only as an HMAC of the number: enough to refuse a
-- second user with the same identity, useless to someone who reads the table.
CREATE TABLE auth.identities (
    kyc_type    text NOT NULL CHECK (kyc_type IN ('NIN', 'BVN', 'ID_CARD')),
    number_hmac bytea NOT NULL,
    user_id     uuid NOT NULL REFERENCES auth.users (id),
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kyc_type, number_hmac)
);
CREATE INDEX identities_user_id ON auth.identities (user_id);

-- +goose Down
DROP SCHEMA auth CASCADE;
