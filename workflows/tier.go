package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
)

// TierUpgradeID is the workflow id of one upgrade request.
func TierUpgradeID(accountNumber, requestID string) string {
	return "tier/" + accountNumber + "/" + requestID
}

// UpgradeTierInput asks to raise an account's tier on new evidence. It
// carries a KYC number, so it is encrypted in history.
type UpgradeTierInput struct {
	RequestID     string
	AccountNumber string
	UserID        string
	Tier          bank.Tier
	KYC           bank.KYC
}

// SensitivePayload marks the payload for encryption.
func (UpgradeTierInput) SensitivePayload() {}

// UpgradeTierResult is the account at its new tier.
type UpgradeTierResult struct {
	Account bank.Account
}

// UpgradeTier (task queue "accounts") verifies the evidence with the
// registry, records it for the user, raises the tier under the account's
// row lock, and announces tier_upgraded. Refusals fail the workflow typed by
// their code.
func UpgradeTier(ctx workflow.Context, in UpgradeTierInput) (UpgradeTierResult, error) {
	regCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueRegistration, 30*time.Second))
	if err := workflow.ExecuteActivity(regCtx, regActs.VerifyKYC, activities.VerifyKYCInput{KYC: in.KYC}).Get(ctx, nil); err != nil {
		return UpgradeTierResult{}, err
	}
	var claimed activities.ClaimEvidenceResult
	err := workflow.ExecuteActivity(regCtx, regActs.ClaimEvidence,
		activities.ClaimEvidenceInput{UserID: in.UserID, Tier: in.Tier, KYC: in.KYC}).Get(ctx, &claimed)
	if err != nil {
		return UpgradeTierResult{}, err
	}

	var upgraded activities.UpgradeTierResult
	accCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueAccounts, 10*time.Second))
	err = workflow.ExecuteActivity(accCtx, accActs.UpgradeTier, activities.UpgradeTierInput{Upgrade: bank.TierUpgrade{
		RequestID: in.RequestID, AccountNumber: in.AccountNumber, UserID: in.UserID,
		Tier: in.Tier, EvidenceType: in.KYC.Type, EvidenceOnFile: claimed.OnFile,
	}}).Get(ctx, &upgraded)
	if err != nil {
		return UpgradeTierResult{}, err
	}

	ev := bank.Event{
		ID:            string(bank.EventTierUpgraded) + "/" + in.RequestID,
		Type:          bank.EventTierUpgraded,
		OccurredAt:    workflow.Now(ctx).UTC(),
		UserID:        in.UserID,
		AccountNumber: in.AccountNumber,
		Tier:          upgraded.Account.Tier,
	}
	evCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueNotify, 10*time.Second))
	if err := workflow.ExecuteActivity(evCtx, evtActs.PublishEvent, ev).Get(ctx, nil); err != nil {
		return UpgradeTierResult{}, err
	}
	return UpgradeTierResult{Account: upgraded.Account}, nil
}
