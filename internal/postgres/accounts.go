package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

const accountColumns = `id, account_number, owner_id, tier, balance, on_hold, debit_day, debit_used, created_at`

// scanAccount reads accountColumns; today is the Lagos day whose counted
// debits are daily_debit_used.
func scanAccount(row pgx.Row, today bank.Day) (bank.Account, error) {
	var a bank.Account
	var owner uuid.NullUUID
	var onHold bank.Money
	var counter bank.DebitCounter
	var debitDay *time.Time
	if err := row.Scan(&a.ID, &a.AccountNumber, &owner, &a.Tier, &a.Balance, &onHold, &debitDay, &counter.Used, &a.CreatedAt); err != nil {
		return bank.Account{}, err
	}
	if owner.Valid {
		a.OwnerID = owner.UUID.String()
	}
	counter.Day = dayOf(debitDay)
	a.AvailableBalance = a.Balance - onHold
	a.DailyDebitUsed = counter.On(today)
	return a, nil
}

// dayOf turns a SQL date (midnight UTC of that date, as pgx reads it) into
// a bank.Day; NULL is no day.
func dayOf(d *time.Time) bank.Day {
	if d == nil {
		return ""
	}
	return bank.Day(d.UTC().Format(time.DateOnly))
}

// ProvisionDefault returns the user's default account, creating a TIER_1
// account with a fresh random number when there is none. Idempotent by user
// id, so a retried activity never opens a second account.
func (s *Accounts) ProvisionDefault(ctx context.Context, ownerID string) (bank.Account, error) {
	owner, err := uuid.Parse(ownerID)
	if err != nil {
		return bank.Account{}, fmt.Errorf("owner id %q: %w", ownerID, err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		a, err := scanAccount(s.pool.QueryRow(ctx, `
			INSERT INTO ledger.accounts (account_number, owner_id, kind, is_default, tier)
			VALUES ($1, $2, 'customer', true, $3)
			ON CONFLICT (owner_id) WHERE is_default DO NOTHING
			RETURNING `+accountColumns, bank.NewAccountNumber(), owner, string(bank.Tier1)), s.today())
		switch {
		case err == nil:
			return a, nil
		case errors.Is(err, pgx.ErrNoRows):
			return scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+`
				FROM ledger.accounts WHERE owner_id = $1 AND is_default`, owner), s.today())
		case isUniqueViolation(err, "accounts_account_number_key"):
			continue // one in 900 million: draw another number
		default:
			return bank.Account{}, fmt.Errorf("insert account: %w", err)
		}
	}
	return bank.Account{}, errors.New("could not draw a free account number")
}

// ByNumber returns a customer account by its number. Errors: NOT_FOUND.
func (s *Accounts) ByNumber(ctx context.Context, number string) (bank.Account, error) {
	if !bank.ValidAccountNumber(number) {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+`
		FROM ledger.accounts WHERE account_number = $1 AND kind = 'customer'`, number), s.today())
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	if err != nil {
		return bank.Account{}, fmt.Errorf("read account: %w", err)
	}
	return a, nil
}

// ByOwner lists a user's accounts, oldest first.
func (s *Accounts) ByOwner(ctx context.Context, ownerID string) ([]bank.Account, error) {
	owner, err := uuid.Parse(ownerID)
	if err != nil {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+`
		FROM ledger.accounts WHERE owner_id = $1 ORDER BY id`, owner)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	today := s.today()
	accounts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bank.Account, error) { return scanAccount(r, today) })
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

// UpgradeTier changes an account's tier under its row lock and records the
// change. Idempotent by request id: a retry returns the account as it is.
// Errors: NOT_FOUND (no such account, or not the user's), TIER_NOT_HIGHER,
// VALIDATION_FAILED, KYC_FAILED (see bank.CheckUpgrade).
func (s *Accounts) UpgradeTier(ctx context.Context, in bank.TierUpgrade) (bank.Account, error) {
	var out bank.Account
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+`
			FROM ledger.accounts WHERE account_number = $1 AND kind = 'customer' FOR UPDATE`, in.AccountNumber), s.today())
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && a.OwnerID != in.UserID) {
			return bank.Errorf(bank.CodeNotFound, "account not found")
		}
		if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ledger.tier_changes WHERE request_id = $1)`, in.RequestID).Scan(&done); err != nil {
			return fmt.Errorf("read tier changes: %w", err)
		}
		if done {
			out = a
			return nil
		}
		if err := bank.CheckUpgrade(a.Tier, in.Tier, in.EvidenceType, in.EvidenceOnFile); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ledger.accounts SET tier = $2 WHERE id = $1`, a.ID, string(in.Tier)); err != nil {
			return fmt.Errorf("update tier: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ledger.tier_changes (request_id, account_id, from_tier, to_tier, evidence_type, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, in.RequestID, a.ID, string(a.Tier), string(in.Tier), string(in.EvidenceType), in.UserID); err != nil {
			return fmt.Errorf("record tier change: %w", err)
		}
		a.Tier = in.Tier
		out = a
		return nil
	})
	return out, err
}
