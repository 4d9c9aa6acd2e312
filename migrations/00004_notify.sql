-- +goose Up
CREATE SCHEMA IF NOT EXISTS notify;

CREATE TABLE notify.notifications (
    id             uuid PRIMARY KEY,
    -- auth.users.id; no foreign key, as schemas do not reference each other.
    user_id        uuid NOT NULL,
    -- The bank.Event that caused the notification. With user_id it is the
    -- idempotency key: a redelivered event finds its rows already there.
    event_id       text NOT NULL,
    type           text NOT NULL CHECK (type IN ('ACCOUNT_CREATED', 'TRANSFER_DEBIT', 'TRANSFER_CREDIT',
                                                 'DEPOSIT', 'TIER_UPGRADED', 'TRANSFER_FAILED')),
    title          text NOT NULL,
    message        text NOT NULL,
    -- Minor units (kobo), as everywhere else; never a float.
    amount_minor   bigint CHECK (amount_minor >= 0),
    reference      text,
    account_number text,
    read_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_event_user_key UNIQUE (event_id, user_id)
);
-- Serves getNotifications: newest first per user, keyset-paginated on
-- (created_at, id).
CREATE INDEX notifications_user_newest ON notify.notifications (user_id, created_at DESC, id DESC);

-- +goose Down
DROP SCHEMA notify CASCADE;
