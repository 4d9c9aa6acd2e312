-- +goose Up
-- The notification type of a transfer held for approval (issue 16). The
-- list is bank.NotificationTypes(); a test in internal/postgres compares
-- the two. Versions follow issue numbers (00016 is this issue's ledger
-- migration); 00116 is its notify-schema file, as one file holds one schema.
ALTER TABLE notify.notifications
    DROP CONSTRAINT notifications_type_check,
    ADD CONSTRAINT notifications_type_check CHECK (type IN ('ACCOUNT_CREATED', 'TRANSFER_DEBIT', 'TRANSFER_CREDIT',
        'DEPOSIT', 'TIER_UPGRADED', 'TRANSFER_FAILED', 'TRANSFER_PENDING_APPROVAL'));

-- +goose Down
-- Fails while a TRANSFER_PENDING_APPROVAL notification is stored.
ALTER TABLE notify.notifications
    DROP CONSTRAINT notifications_type_check,
    ADD CONSTRAINT notifications_type_check CHECK (type IN ('ACCOUNT_CREATED', 'TRANSFER_DEBIT', 'TRANSFER_CREDIT',
        'DEPOSIT', 'TIER_UPGRADED', 'TRANSFER_FAILED'));
