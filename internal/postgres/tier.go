package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

// tierRefusals are the codes an upgrade can be refused with under the lock;
// each is stored under the request id and answered again to a retry.
var tierRefusals = map[bank.Code]bool{
	bank.CodeTierNotHigher: true, bank.CodeKYCFailed: true, bank.CodeIdentityInUse: true, bank.CodeValidation: true,
}

// ApplyTierUpgrade decides an upgrade under the account's row lock, in one
// transaction: the tier check, the evidence on file, the claim of the
// submitted number for the user, the new tier and its audit row, and the
// outcome stored under the request id. So the evidence is claimed only by
// an upgrade that is made, however many race: a refused one (the tier is
// no longer higher, the number is someone else's, TIER_3 without a BVN or
// NIN) claims nothing. in.Refused records a refusal decided before the
// lock (the registry's KYC_FAILED) and claims nothing either.
//
// This is the one transaction that spans two schemas (the claim is in
// auth, the tier in ledger): the claim and the upgrade must stand or fall
// together, and both live in one database (docs/design.md).
//
// Idempotent by request id: a retry with the same request hash answers the
// stored outcome (the account as it is now, or the same refusal); another
// hash is IDEMPOTENCY_KEY_REUSED. Errors: NOT_FOUND (no such account, or not
// the user's), IDEMPOTENCY_KEY_REUSED, TIER_NOT_HIGHER, KYC_FAILED,
// IDENTITY_IN_USE, VALIDATION_FAILED.
func (s *Accounts) ApplyTierUpgrade(ctx context.Context, in bank.TierUpgrade) (bank.Account, error) {
	var out bank.Account
	var refusal error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		refusal = nil
		a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+`
			FROM ledger.accounts WHERE account_number = $1 AND kind = 'customer' FOR UPDATE`, in.AccountNumber), s.today())
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && a.OwnerID != in.UserID) {
			return bank.Errorf(bank.CodeNotFound, "account not found")
		}
		if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		out = a
		stored, err := tierOutcome(ctx, tx, in.RequestID)
		if err != nil {
			return err
		}
		switch bank.DecideTierRequest(stored, in.RequestHash) {
		case bank.TierKeyReused:
			return bank.Errorf(bank.CodeIdempotencyReused, "this Idempotency-Key was used for a different upgrade")
		case bank.TierReplayRefusal:
			refusal = bank.Errorf(stored.Refusal, "the upgrade was refused")
			return nil
		case bank.TierReplay:
			return nil
		}
		// Run under the request id by code older than the stored outcomes.
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ledger.tier_changes WHERE request_id = $1)`, in.RequestID).Scan(&done); err != nil {
			return fmt.Errorf("read tier changes: %w", err)
		}
		if done {
			return nil
		}

		refusal = in.Refusal()
		if refusal == nil {
			refusal = decideTierUpgrade(ctx, tx, a, in)
		}
		if refusal != nil && !tierRefusals[bank.ErrorCode(refusal)] {
			return refusal // not an answer to store: a failure, rolled back and retried
		}
		status, code := "COMPLETED", (*string)(nil)
		if refusal != nil {
			c := string(bank.ErrorCode(refusal))
			status, code = "FAILED", &c
		} else {
			if _, err := tx.Exec(ctx, `UPDATE ledger.accounts SET tier = $2 WHERE id = $1`, a.ID, string(in.Tier)); err != nil {
				return fmt.Errorf("update tier: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ledger.tier_changes (request_id, account_id, from_tier, to_tier, evidence_type, changed_by)
				VALUES ($1, $2, $3, $4, $5, $6)`, in.RequestID, a.ID, string(a.Tier), string(in.Tier), string(in.EvidenceType), in.UserID); err != nil {
				return fmt.Errorf("record tier change: %w", err)
			}
			out.Tier = in.Tier
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ledger.tier_requests (request_id, account_id, request_hash, status, failure_code)
			VALUES ($1, $2, $3, $4, $5)`, in.RequestID, a.ID, in.RequestHash, status, code); err != nil {
			return fmt.Errorf("record tier request: %w", err)
		}
		return nil
	})
	if err != nil {
		return bank.Account{}, err
	}
	if refusal != nil {
		return bank.Account{}, refusal
	}
	return out, nil
}

// decideTierUpgrade applies the rules to the locked account and, when they
// pass, claims the submitted evidence for the user. A refusal writes
// nothing: claimIdentity inserts only a number nobody holds.
func decideTierUpgrade(ctx context.Context, tx pgx.Tx, a bank.Account, in bank.TierUpgrade) error {
	if err := bank.CheckUpgradeRequest(a.Tier, in.Tier, in.EvidenceType); err != nil {
		return err
	}
	onFile, err := identityTypes(ctx, tx, in.UserID)
	if err != nil {
		return err
	}
	if err := bank.CheckEvidence(in.Tier, in.EvidenceType, onFile); err != nil {
		return err
	}
	owner, err := claimIdentity(ctx, tx, in.UserID, in.EvidenceType, in.EvidenceHMAC)
	if err != nil {
		return err
	}
	if owner != in.UserID {
		return bank.Errorf(bank.CodeIdentityInUse, "this %s already belongs to another user", in.EvidenceType)
	}
	return nil
}

// TierOutcome returns what is stored under an upgrade's request id (nil
// when nothing is).
func (s *Accounts) TierOutcome(ctx context.Context, requestID string) (*bank.TierOutcome, error) {
	return tierOutcome(ctx, s.pool, requestID)
}

func tierOutcome(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, requestID string) (*bank.TierOutcome, error) {
	var o bank.TierOutcome
	var code *string
	err := q.QueryRow(ctx, `SELECT request_hash, failure_code FROM ledger.tier_requests WHERE request_id = $1`, requestID).
		Scan(&o.RequestHash, &code)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tier request: %w", err)
	}
	if code != nil {
		o.Refusal = bank.Code(*code)
	}
	return &o, nil
}
