package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/fixture"
	"github.com/bankcore/bank/internal/postgres"
)

// pipelinedLedger is a candidate rewrite of postgres.Ledger.Post, measured
// here before anyone changes the store (-systems ...,pipelined). Same rules,
// same rows, same idempotency and refusals, in two round trips instead of
// five:
//
//  1. BEGIN + the ordered SELECT ... FOR UPDATE, pipelined;
//  2. one statement writing the transfer, and when it was inserted and is
//     COMPLETED the balances and both entries (data-modifying CTEs), +
//     COMMIT, pipelined.
//
// The rules still run in Go (bank.CheckTransfer) between the two. The row
// locks are held for one round trip (plus the commit's WAL flush) instead
// of three, which is what bounds a hot account.
type pipelinedLedger struct{ pool *pgxpool.Pool }

const lockSQL = `SELECT id, account_number, owner_id, kind = 'system', tier, balance
	FROM ledger.accounts WHERE account_number IN ($1, $2) ORDER BY id FOR UPDATE`

// $13 says whether to move money (COMPLETED); nothing but the transfer row
// is written when the key was already taken (t is empty) or it is refused.
const writeSQL = `
	WITH t AS (
		INSERT INTO ledger.transfers (id, kind, key_owner, reference, request_hash, from_account_id, to_account_id,
			amount, narration, status, failure_code, created_by, completed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
		ON CONFLICT (key_owner, reference) DO NOTHING
		RETURNING id, created_at, completed_at),
	b AS (
		UPDATE ledger.accounts SET balance = CASE id WHEN $6 THEN $14::bigint ELSE $15::bigint END
		WHERE $13::boolean AND id IN ($6, $7) AND EXISTS (SELECT FROM t)),
	e AS (
		INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
		SELECT t.id, v.account_id, v.direction, $8, v.balance_after, t.created_at
		FROM t, (VALUES ($6::bigint, 'DEBIT', $14::bigint), ($7::bigint, 'CREDIT', $15::bigint))
			AS v (account_id, direction, balance_after)
		WHERE $13::boolean)
	SELECT created_at, completed_at FROM t`

type locked struct {
	party  bank.Party
	number string
	owner  string
}

func (l *pipelinedLedger) Post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	for attempt := 0; ; attempt++ {
		out, err := l.post(ctx, req)
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return out, err
	}
}

func (l *pipelinedLedger) post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return bank.Transfer{}, err
	}
	defer conn.Release() // a connection left inside a transaction is closed by the pool
	inTx := false
	defer func() {
		if inTx {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		}
	}()

	// Round trip 1.
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(lockSQL, req.FromAccount, req.ToAccount)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("begin: %w", err)
	}
	inTx = true
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("lock accounts: %w", err)
	}
	var from, to locked
	found := 0
	for rows.Next() {
		var a locked
		var owner uuid.NullUUID
		if err := rows.Scan(&a.party.ID, &a.number, &owner, &a.party.System, &a.party.Tier, &a.party.Balance); err != nil {
			rows.Close()
			_ = br.Close()
			return bank.Transfer{}, fmt.Errorf("lock accounts: %w", err)
		}
		if owner.Valid {
			a.owner = owner.UUID.String()
		}
		if a.number == req.FromAccount {
			from, found = a, found|1
		}
		if a.number == req.ToAccount {
			to, found = a, found|2
		}
	}
	rows.Close()
	if err := errors.Join(rows.Err(), br.Close()); err != nil {
		return bank.Transfer{}, fmt.Errorf("lock accounts: %w", err)
	}
	if found != 3 {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	if req.Kind == bank.KindTransfer && (from.owner != req.KeyOwner || to.party.System) {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	if req.Kind == bank.KindDeposit && !from.party.System {
		return bank.Transfer{}, errors.New("deposits come from the system account")
	}

	code := bank.CheckTransfer(from.party, to.party, req.Amount)
	status := bank.StatusCompleted
	var failure *string
	if code != "" {
		status = bank.StatusFailed
		s := string(code)
		failure = &s
	}
	t := bank.Transfer{
		ID: uuid.NewString(), Kind: req.Kind, KeyOwner: req.KeyOwner, Reference: req.Reference,
		RequestHash: req.Hash(), FromAccount: from.number, ToAccount: to.number,
		FromOwnerID: from.owner, ToOwnerID: to.owner, Amount: req.Amount, Narration: req.Narration,
		Status: status, FailureCode: code, CreatedBy: req.CreatedBy,
	}
	fromAfter, toAfter := from.party.Balance-t.Amount, to.party.Balance+t.Amount

	// Round trip 2.
	b = &pgx.Batch{}
	b.Queue(writeSQL, t.ID, string(t.Kind), t.KeyOwner, t.Reference, t.RequestHash, from.party.ID, to.party.ID,
		int64(t.Amount), t.Narration, string(t.Status), failure, t.CreatedBy,
		status == bank.StatusCompleted, int64(fromAfter), int64(toAfter))
	b.Queue("commit")
	br = conn.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&t.CreatedAt, &t.CompletedAt)
	taken := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !taken {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("write transfer: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("commit: %w", err)
	}
	if err := br.Close(); err != nil {
		return bank.Transfer{}, fmt.Errorf("commit: %w", err)
	}
	inTx = false
	if !taken {
		return t, nil
	}
	// The key is taken: answer with what it already did (committed, since
	// ON CONFLICT waited for it).
	stored, err := postgres.NewLedger(l.pool).ByKey(ctx, req.KeyOwner, req.Reference)
	if err != nil {
		return bank.Transfer{}, err
	}
	if !bytes.Equal(stored.RequestHash, t.RequestHash) {
		return bank.Transfer{}, bank.Errorf(bank.CodeIdempotencyReused, "this reference was used for a different request")
	}
	return stored, nil
}

// checkPipelined makes sure the candidate behaves like Ledger.Post before
// its figures mean anything: it posts, replays, reuses a key for another
// request, gets a refusal and a wrong owner, and compares with the store.
func checkPipelined(ctx context.Context, pool *pgxpool.Pool, from, to fixture.Account) error {
	p := &pipelinedLedger{pool: pool}
	accts := postgres.NewAccounts(pool)
	balance := func(n string) (bank.Money, error) {
		a, err := accts.ByNumber(ctx, n)
		return a.Balance, err
	}
	f0, err := balance(from.Number)
	if err != nil {
		return err
	}
	t0, err := balance(to.Number)
	if err != nil {
		return err
	}
	req := bank.TransferRequest{Kind: bank.KindTransfer, KeyOwner: from.Owner, Reference: "check-1",
		FromAccount: from.Number, ToAccount: to.Number, Amount: 5, Narration: "check", CreatedBy: from.Owner}
	first, err := p.Post(ctx, req)
	if err != nil || first.Status != bank.StatusCompleted {
		return fmt.Errorf("post: %+v: %w", first, err)
	}
	again, err := p.Post(ctx, req)
	if err != nil || again.ID != first.ID {
		return fmt.Errorf("replay: got %+v, want transfer %s: %w", again, first.ID, err)
	}
	stored, err := postgres.NewLedger(pool).ByKey(ctx, from.Owner, "check-1")
	if err != nil || stored.ID != first.ID || stored.Amount != 5 || stored.Status != bank.StatusCompleted {
		return fmt.Errorf("stored: %+v: %w", stored, err)
	}
	f1, _ := balance(from.Number)
	t1, _ := balance(to.Number)
	if f1 != f0-5 || t1 != t0+5 {
		return fmt.Errorf("balances moved %d/%d, want -5/+5", f1-f0, t1-t0)
	}
	other := req
	other.Amount = 6
	if _, err := p.Post(ctx, other); bank.ErrorCode(err) != bank.CodeIdempotencyReused {
		return fmt.Errorf("reused key: got %w", err)
	}
	big := req
	big.Reference, big.Amount = "check-2", f1+1
	refused, err := p.Post(ctx, big)
	if err != nil || refused.Status != bank.StatusFailed || refused.FailureCode != bank.CodeInsufficientFunds {
		return fmt.Errorf("refusal: %+v: %w", refused, err)
	}
	if again, err := p.Post(ctx, big); err != nil || again.ID != refused.ID || again.Status != bank.StatusFailed {
		return fmt.Errorf("refusal replay: %+v: %w", again, err)
	}
	wrong := req
	wrong.Reference, wrong.KeyOwner = "check-3", to.Owner
	if _, err := p.Post(ctx, wrong); bank.ErrorCode(err) != bank.CodeNotFound {
		return fmt.Errorf("wrong owner: got %w", err)
	}
	f2, _ := balance(from.Number)
	t2, _ := balance(to.Number)
	if f2 != f1 || t2 != t1 {
		return errors.New("balances moved after the first transfer")
	}
	return nil
}
