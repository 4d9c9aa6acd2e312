package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// AccountStore opens accounts. ProvisionDefault is idempotent by owner.
type AccountStore interface {
	ProvisionDefault(ctx context.Context, ownerID string) (bank.Account, error)
}

// Accounts holds the accounts queue's activities.
type Accounts struct {
	Accounts AccountStore
}

// ProvisionAccountInput names the owner; no PII.
type ProvisionAccountInput struct {
	UserID string
}

// ProvisionAccountResult is the user's default account.
type ProvisionAccountResult struct {
	Account bank.Account
}

// ProvisionAccount opens the user's default TIER_1 account, or returns it if
// an earlier attempt already did.
func (a *Accounts) ProvisionAccount(ctx context.Context, in ProvisionAccountInput) (ProvisionAccountResult, error) {
	acc, err := a.Accounts.ProvisionDefault(ctx, in.UserID)
	if err != nil {
		return ProvisionAccountResult{}, asActivityError(err)
	}
	return ProvisionAccountResult{Account: acc}, nil
}
