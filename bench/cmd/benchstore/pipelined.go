package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/fixture"
	"github.com/bankcore/bank/internal/postgres"
)

// pipelinedLedger was the two-round-trip candidate for postgres.Ledger.Post
// measured here (-systems ...,pipelined); Post now works that way itself,
// so the candidate is the store. Kept so `-systems pipelined` still runs and
// older results stay comparable; remove with the flag.
type pipelinedLedger struct{ pool *pgxpool.Pool }

// Post is postgres.Ledger.Post.
func (l *pipelinedLedger) Post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	return postgres.NewLedger(l.pool).Post(ctx, req)
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
