-- +goose Up
-- Daily debit limits, holds and the approval of large transfers (issue 16;
-- docs/design.md, "Daily limits and holds").

-- The order in which things happen to an account under its row lock: a
-- transfer's acceptance and a tier change both take a number from this
-- sequence while they hold the lock, so for one account the numbers are in
-- lock order. The audit of daily limits reads the tier an account had when
-- each transfer was accepted from it (timestamps cannot say: a transaction's
-- now() is when it began, not when it got the lock).
CREATE SEQUENCE ledger.account_event_seq;

-- on_hold is the sum of the account's active holds (balance - on_hold is
-- the available balance); debit_day and debit_used are the daily counter:
-- the counted debits of the Lagos day debit_day (bank.DebitCounter).
ALTER TABLE ledger.accounts
    ADD COLUMN on_hold bigint NOT NULL DEFAULT 0,
    ADD COLUMN debit_day date,
    ADD COLUMN debit_used bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT accounts_on_hold_check CHECK (on_hold >= 0),
    ADD CONSTRAINT accounts_available_check CHECK (kind = 'system' OR balance - on_hold >= 0),
    ADD CONSTRAINT accounts_debit_used_check CHECK (debit_used >= 0);

ALTER TABLE ledger.tier_changes
    ADD COLUMN seq bigint NOT NULL DEFAULT nextval('ledger.account_event_seq');

ALTER TABLE ledger.transfers DROP CONSTRAINT transfers_status_check;
ALTER TABLE ledger.transfers
    ADD CONSTRAINT transfers_status_check CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED', 'PENDING_APPROVAL')),
    -- Acceptance order (see the sequence). Also the operators' list's
    -- cursor: newest first is seq descending.
    ADD COLUMN seq bigint NOT NULL DEFAULT nextval('ledger.account_event_seq'),
    -- The Lagos day the transfer was accepted on: the day it counts against
    -- while COMPLETED or PENDING_APPROVAL. NULL for transfers stored before
    -- daily limits existed: they were accepted under no limit and count
    -- against no day.
    ADD COLUMN accepted_day date,
    -- The approval of a held transfer; all NULL for the others.
    ADD COLUMN approval_status text
        CHECK (approval_status IN ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED', 'EXPIRED')),
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN decided_by uuid,
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN note text CHECK (char_length(note) <= 280),
    -- The id of the decision that ended it (a Temporal Update id, or the
    -- workflow's own for an expiry): the same decision retried is answered
    -- from here.
    ADD COLUMN decision_id text CHECK (octet_length(decision_id) BETWEEN 1 AND 255),
    ADD CONSTRAINT transfers_approval_expires_check CHECK ((approval_status IS NULL) = (expires_at IS NULL)),
    ADD CONSTRAINT transfers_pending_approval_check
        CHECK ((status = 'PENDING_APPROVAL') = (approval_status IS NOT DISTINCT FROM 'PENDING')),
    ADD CONSTRAINT transfers_decided_check
        CHECK ((approval_status IS NOT NULL AND approval_status <> 'PENDING') = (decided_at IS NOT NULL AND decision_id IS NOT NULL)),
    -- A transfer is completed_at when it ends, and only then.
    ADD CONSTRAINT transfers_completed_at_check CHECK ((status IN ('COMPLETED', 'FAILED')) = (completed_at IS NOT NULL));

-- The operators' list (GET /operator/transfers): newest first, by either
-- side's account, by reference, and the approvals queue. The queue is a
-- partial index: it holds only the transfers waiting now. Other status
-- filters walk transfers_seq backwards (COMPLETED is most rows, FAILED a
-- small share) rather than cost every posting one more index entry.
CREATE UNIQUE INDEX transfers_seq ON ledger.transfers (seq);
CREATE INDEX transfers_from_seq ON ledger.transfers (from_account_id, seq);
CREATE INDEX transfers_to_seq ON ledger.transfers (to_account_id, seq);
CREATE INDEX transfers_reference ON ledger.transfers (reference);
CREATE INDEX transfers_pending_approval ON ledger.transfers (seq) WHERE status = 'PENDING_APPROVAL';

-- One hold per held transfer: placed with the transfer, ended exactly once
-- (POSTED when the approval posts it, RELEASED otherwise). A hold is not a
-- ledger entry: it moves no money, it only makes the amount unavailable.
CREATE TABLE ledger.holds (
    transfer_id uuid PRIMARY KEY REFERENCES ledger.transfers (id),
    account_id  bigint NOT NULL REFERENCES ledger.accounts (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    placed_at   timestamptz NOT NULL,
    ended_at    timestamptz,
    outcome     text CHECK (outcome IN ('POSTED', 'RELEASED')),
    CHECK ((ended_at IS NULL) = (outcome IS NULL))
);
-- The active holds of an account (the audit sums them against on_hold).
CREATE INDEX holds_active ON ledger.holds (account_id) WHERE ended_at IS NULL;

-- A hold ends once and then never changes; nothing of it but its end ever
-- changes, and it is never deleted. The store's own statements already
-- end only active holds; this makes a second end an error whatever writes.
-- +goose StatementBegin
CREATE FUNCTION ledger.holds_end_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'hold of transfer % cannot be deleted', OLD.transfer_id;
    END IF;
    IF OLD.ended_at IS NOT NULL THEN
        RAISE EXCEPTION 'hold of transfer % already ended (%)', OLD.transfer_id, OLD.outcome;
    END IF;
    IF (NEW.transfer_id, NEW.account_id, NEW.amount, NEW.placed_at)
        IS DISTINCT FROM (OLD.transfer_id, OLD.account_id, OLD.amount, OLD.placed_at) THEN
        RAISE EXCEPTION 'hold of transfer %: only its end may change', OLD.transfer_id;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER holds_end_once BEFORE UPDATE OR DELETE ON ledger.holds
    FOR EACH ROW EXECUTE FUNCTION ledger.holds_end_once();

-- +goose Down
DROP TABLE ledger.holds;
DROP FUNCTION ledger.holds_end_once();
DROP INDEX ledger.transfers_pending_approval;
DROP INDEX ledger.transfers_reference;
DROP INDEX ledger.transfers_to_seq;
DROP INDEX ledger.transfers_from_seq;
DROP INDEX ledger.transfers_seq;
-- Fails while a transfer is PENDING_APPROVAL: end them first.
ALTER TABLE ledger.transfers
    DROP CONSTRAINT transfers_completed_at_check,
    DROP CONSTRAINT transfers_decided_check,
    DROP CONSTRAINT transfers_pending_approval_check,
    DROP CONSTRAINT transfers_approval_expires_check,
    DROP COLUMN decision_id,
    DROP COLUMN note,
    DROP COLUMN decided_at,
    DROP COLUMN decided_by,
    DROP COLUMN expires_at,
    DROP COLUMN approval_status,
    DROP COLUMN accepted_day,
    DROP COLUMN seq,
    DROP CONSTRAINT transfers_status_check,
    ADD CONSTRAINT transfers_status_check CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED'));
ALTER TABLE ledger.tier_changes DROP COLUMN seq;
ALTER TABLE ledger.accounts
    DROP CONSTRAINT accounts_debit_used_check,
    DROP CONSTRAINT accounts_available_check,
    DROP CONSTRAINT accounts_on_hold_check,
    DROP COLUMN debit_used,
    DROP COLUMN debit_day,
    DROP COLUMN on_hold;
DROP SEQUENCE ledger.account_event_seq;
