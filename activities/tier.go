package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// TierStore decides upgrades under the account's lock (postgres.Accounts).
// Errors: NOT_FOUND, IDEMPOTENCY_KEY_REUSED, TIER_NOT_HIGHER, KYC_FAILED,
// IDENTITY_IN_USE, VALIDATION_FAILED.
type TierStore interface {
	ApplyTierUpgrade(ctx context.Context, in bank.TierUpgrade) (bank.Account, error)
}

// ApplyTierUpgradeInput is an upgrade whose evidence the registry has
// answered for. It carries the KYC number (digested here with IDENTITY_KEY,
// never stored), so it is encrypted in history.
type ApplyTierUpgradeInput struct {
	Upgrade bank.TierUpgrade
	KYC     bank.KYC
}

// SensitivePayload marks the payload for encryption.
func (ApplyTierUpgradeInput) SensitivePayload() {}

// ApplyTierUpgrade decides the upgrade under the account's row lock: the
// tier rules, the claim of the evidence for the user (only if the upgrade
// is made) and the outcome stored under the request id, in one
// transaction. A refusal the registry already gave (Upgrade.Refused) is
// stored the same way. Refusals are non-retryable errors typed by their
// code; a retry after a commit answers the stored outcome.
func (a *Accounts) ApplyTierUpgrade(ctx context.Context, in ApplyTierUpgradeInput) (UpgradeTierResult, error) {
	up := in.Upgrade
	k, err := bank.NormalizeKYC(in.KYC)
	if err != nil {
		return UpgradeTierResult{}, asActivityError(err)
	}
	up.EvidenceType = k.Type
	up.EvidenceHMAC = bank.KYCDigest(a.IdentityKey, k)
	acc, err := a.Tiers.ApplyTierUpgrade(ctx, up)
	if err != nil {
		return UpgradeTierResult{}, asActivityError(err)
	}
	return UpgradeTierResult{Account: acc}, nil
}
