-- +goose NO TRANSACTION
-- +goose Up
-- Balances in time and statements read an account's entries by time:
-- GET /accounts/{n}/balance?at= is the balance_after of the last entry at or
-- before a time, one descent of this index (index-only: balance_after is
-- carried), and a statement's totals sum direction and amount over a range
-- of it without touching the table. id breaks ties between entries of one
-- instant in posting order.
--
-- Built CONCURRENTLY, outside a transaction, so adding it to a large ledger
-- never blocks postings. A build that failed half-way leaves an INVALID
-- index of this name; the DROP clears it before the retry.
DROP INDEX CONCURRENTLY IF EXISTS ledger.entries_account_time;
CREATE INDEX CONCURRENTLY entries_account_time
    ON ledger.entries (account_id, created_at, id) INCLUDE (balance_after, direction, amount);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS ledger.entries_account_time;
