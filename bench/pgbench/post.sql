-- One customer transfer between two distinct accounts, with the statements
-- and the two round trips of internal/postgres.Ledger.Post:
--   1. BEGIN, both accounts locked in id order (lockSQL) and the time read
--      under the locks (clockSQL), in one message;
--   2. the write statement (writeSQL: data-modifying CTEs insert the
--      transfer ON CONFLICT DO NOTHING and, when inserted and COMPLETED,
--      update both balances and the sender's daily counter and insert both
--      entries with balance_after; the hold's CTE writes nothing for a
--      transfer that is not held) and COMMIT, in one message.
-- Both statements are prepared once per connection, from the text of
-- ledger.go (pgbench_test.go checks it has not drifted), and run with
-- EXECUTE, so the server uses a cached plan as it does for pgx's prepared
-- statements. Each round trip is one simple-protocol query of several
-- statements ("BEGIN \; EXECUTE …"): PostgreSQL 15's pgbench refuses \gset
-- and \aset inside \startpipeline, and the extended protocol (-M prepared)
-- refuses two statements in one query, so -M simple is the way to read the
-- lock's result in the round trip that sends BEGIN.
--
-- pgbench does not run the rules (bank.CheckTransfer) and writes every
-- transfer COMPLETED: that is what the rules decide for every transfer of
-- this fixture (TIER_3 accounts have no limits, each holds 10 billion naira,
-- a transfer moves at most 10,000 kobo, far below the approval threshold
-- the store runs with: none). Should a sender ever hold less than the
-- amount, the client stops with an error instead of writing what the store
-- would refuse. It does not hash the request either: request_hash is a
-- constant. What the store computes in Go from the locked rows, the script
-- computes in the lock's wrapper: the Lagos day (the store's, of the time
-- read under the locks) and the sender's counted debits of that day
-- (bank.DebitCounter.On).
--
-- Run with -M simple and the variables the harness passes
-- (bench/cmd/benchstore prints the full command):
--   -D naccounts=10000   customer k (1..naccounts) has account number
--                        (100000000 + k) followed by its Luhn check digit
--   -D sender=0          0: a random sender for each transfer (uniform);
--                        k: customer k sends every transfer (hot: 1)
--   -D run=R             run tag: references are R*10^12 + client*10^9 + seq
--   -D seq=0             per-client counter (pgbench variables persist)
-- The receiver is any customer but the sender, at random.
\if :sender > 0
\set k1 :sender
\else
\set k1 random(1, :naccounts)
\endif
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

-- Once per connection (its first transfer, in the warm-up): prepare the
-- store's two statements. post_lock is lockSQL wrapped so that \gset gets
-- one row; the inner SELECT still takes the locks in id order.
\if :seq = 1
PREPARE post_lock AS
WITH l AS (
	SELECT id, account_number, owner_id, kind = 'system', tier, balance, on_hold, debit_day, debit_used
	FROM ledger.accounts WHERE account_number IN ($1, $2) ORDER BY id FOR UPDATE),
d AS (SELECT (now() AT TIME ZONE 'Africa/Lagos')::date AS today)
SELECT f.id AS fid, f.owner_id AS fowner, f.balance AS fbal, f.on_hold AS fhold,
	CASE WHEN f.debit_day = d.today THEN f.debit_used ELSE 0 END AS fused, d.today AS today,
	t.id AS tid, t.balance AS tbal
FROM l f, l t, d WHERE f.account_number = $1 AND t.account_number = $2 \;
PREPARE post_write AS
	WITH t AS (
		INSERT INTO ledger.transfers (id, kind, key_owner, reference, request_hash, from_account_id, to_account_id,
			amount, narration, status, failure_code, created_by, created_at, completed_at, accepted_day,
			approval_status, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (key_owner, reference) DO NOTHING
		RETURNING id, created_at, completed_at),
	b AS (
		UPDATE ledger.accounts SET balance = CASE id WHEN $6 THEN $18::bigint ELSE $19::bigint END,
			on_hold = CASE id WHEN $6 THEN $20::bigint ELSE on_hold END,
			debit_day = CASE id WHEN $6 THEN $21::date ELSE debit_day END,
			debit_used = CASE id WHEN $6 THEN $22::bigint ELSE debit_used END
		WHERE (id = $6 AND $10 <> 'FAILED' OR id = $7 AND $10 = 'COMPLETED') AND EXISTS (SELECT FROM t)),
	e AS (
		INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
		SELECT t.id, v.account_id, v.direction, $8, v.balance_after, t.created_at
		FROM t, (VALUES ($6::bigint, 'DEBIT', $18::bigint), ($7::bigint, 'CREDIT', $19::bigint))
			AS v (account_id, direction, balance_after)
		WHERE $10 = 'COMPLETED'),
	h AS (
		INSERT INTO ledger.holds (transfer_id, account_id, amount, placed_at)
		SELECT t.id, $6, $8, t.created_at FROM t WHERE $10 = 'PENDING_APPROVAL')
	SELECT created_at, completed_at FROM t;
\endif

-- Round trip 1: begin, lock, and the time under the locks (clockSQL).
BEGIN \; EXECUTE post_lock(':from_no', ':to_no') \; SELECT clock_timestamp() AS at \aset
\if :fbal - :fhold < :amt
SELECT 'the sender has less than the amount available, and this script cannot refuse a transfer'::integer;
\endif
\set fafter :fbal - :amt
\set tafter :tbal + :amt
\set fused :fused + :amt

-- Round trip 2: write and commit, stamped with the time read under the
-- locks, as the store does.
EXECUTE post_write(gen_random_uuid(), 'transfer', ':fowner', ':ref',
	'\xdcf8cde3a1704b891ed9487b12bc7bc24d5cdf755b74abb4c4045f052a6f8241', :fid, :tid,
	:amt, '', 'COMPLETED', NULL, ':fowner', ':at', ':at', ':today', NULL, NULL,
	:fafter, :tafter, :fhold, ':today', :fused) \;
COMMIT;
