-- One customer transfer between two distinct random accounts, with the
-- statements and round trips of internal/postgres.Ledger.Post:
--   BEGIN; lock both accounts ordered by id; insert the transfer
--   (ON CONFLICT DO NOTHING, final status); one pipelined batch of the
--   balance update and the two entries; COMMIT.
-- Run with -M prepared (pgx caches prepared statements) and the variables
-- the harness passes (bench/cmd/benchstore prints the full command):
--   -D naccounts=10000   customer k (1..naccounts) has account number
--                        (100000000 + k) followed by its Luhn check digit
--   -D run=R             run tag: references are R*10^12 + client*10^9 + seq
--   -D seq=0             per-client counter (pgbench variables persist)
-- Only the choice of accounts differs from post_hot.sql.
\set k1 random(1, :naccounts)
\set k2 (:k1 + random(0, :naccounts - 2)) % :naccounts + 1

-- Account numbers (what the store is called with): 9-digit body, Luhn digit
-- over it with the rightmost body digit doubled, as bank.NewAccountNumber.
\set b1 100000000 + :k1
\set s1 (2 * (:b1 % 10)) % 10 + (2 * (:b1 % 10)) / 10 + (:b1 / 10) % 10 \
  + (2 * ((:b1 / 100) % 10)) % 10 + (2 * ((:b1 / 100) % 10)) / 10 + (:b1 / 1000) % 10 \
  + (2 * ((:b1 / 10000) % 10)) % 10 + (2 * ((:b1 / 10000) % 10)) / 10 + (:b1 / 100000) % 10 \
  + (2 * ((:b1 / 1000000) % 10)) % 10 + (2 * ((:b1 / 1000000) % 10)) / 10 + (:b1 / 10000000) % 10 \
  + (2 * ((:b1 / 100000000) % 10)) % 10 + (2 * ((:b1 / 100000000) % 10)) / 10
\set from_no :b1 * 10 + (10 - :s1 % 10) % 10
\set b2 100000000 + :k2
\set s2 (2 * (:b2 % 10)) % 10 + (2 * (:b2 % 10)) / 10 + (:b2 / 10) % 10 \
  + (2 * ((:b2 / 100) % 10)) % 10 + (2 * ((:b2 / 100) % 10)) / 10 + (:b2 / 1000) % 10 \
  + (2 * ((:b2 / 10000) % 10)) % 10 + (2 * ((:b2 / 10000) % 10)) / 10 + (:b2 / 100000) % 10 \
  + (2 * ((:b2 / 1000000) % 10)) % 10 + (2 * ((:b2 / 1000000) % 10)) / 10 + (:b2 / 10000000) % 10 \
  + (2 * ((:b2 / 100000000) % 10)) % 10 + (2 * ((:b2 / 100000000) % 10)) / 10
\set to_no :b2 * 10 + (10 - :s2 % 10) % 10
\set amt random(1, 10000)
\set seq :seq + 1
\set ref :run * 1000000000000 + :client_id * 1000000000 + :seq

BEGIN;
-- The store's lock query, wrapped so that \gset gets one row; the locks are
-- still taken in id order by the inner SELECT.
WITH l AS (
  SELECT id, account_number, owner_id, kind = 'system' AS sys, tier, balance
  FROM ledger.accounts WHERE account_number IN (:from_no, :to_no) ORDER BY id FOR UPDATE)
SELECT f.id AS fid, f.owner_id AS fowner, f.balance AS fbal, t.id AS tid, t.balance AS tbal
FROM l f, l t WHERE f.account_number = :from_no AND t.account_number = :to_no \gset
\set fafter :fbal - :amt
\set tafter :tbal + :amt
INSERT INTO ledger.transfers (id, kind, key_owner, reference, request_hash, from_account_id, to_account_id,
  amount, narration, status, failure_code, created_by, completed_at)
VALUES (gen_random_uuid(), 'transfer', :fowner, :ref,
  '\xdcf8cde3a1704b891ed9487b12bc7bc24d5cdf755b74abb4c4045f052a6f8241', :fid, :tid,
  :amt, '', 'COMPLETED', NULL, :fowner, now())
ON CONFLICT (key_owner, reference) DO NOTHING
RETURNING id AS xid, created_at AS xat \gset
\startpipeline
UPDATE ledger.accounts SET balance = CASE id WHEN :fid THEN :fafter::bigint ELSE :tafter::bigint END
WHERE id IN (:fid, :tid);
INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
VALUES (:xid, :fid, 'DEBIT', :amt, :fafter, :xat), (:xid, :tid, 'CREDIT', :amt, :tafter, :xat);
\endpipeline
COMMIT;
