package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// AccountStore opens accounts and changes their tier. ProvisionDefault is
// idempotent by owner, UpgradeTier by request id.
// Errors: NOT_FOUND, TIER_NOT_HIGHER, VALIDATION_FAILED, KYC_FAILED.
type AccountStore interface {
	ProvisionDefault(ctx context.Context, ownerID string) (bank.Account, error)
	UpgradeTier(ctx context.Context, in bank.TierUpgrade) (bank.Account, error)
}

// Accounts holds the accounts queue's activities.
type Accounts struct {
	Accounts AccountStore
	// Tiers and IdentityKey serve ApplyTierUpgrade (tier.go).
	Tiers       TierStore
	IdentityKey []byte
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

// UpgradeTierInput is the upgrade to apply; evidence type only, no number.
type UpgradeTierInput struct {
	Upgrade bank.TierUpgrade
}

// UpgradeTierResult is the account after the change.
type UpgradeTierResult struct {
	Account bank.Account
}

// UpgradeTier raises the account's tier under its row lock and records who,
// when and on what evidence. Only upgrades started before issue 15 call it
// (their evidence was claimed by ClaimEvidence first); newer ones call
// ApplyTierUpgrade.
func (a *Accounts) UpgradeTier(ctx context.Context, in UpgradeTierInput) (UpgradeTierResult, error) {
	acc, err := a.Accounts.UpgradeTier(ctx, in.Upgrade)
	if err != nil {
		return UpgradeTierResult{}, asActivityError(err)
	}
	return UpgradeTierResult{Account: acc}, nil
}
