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
	// RequestHash is bank.TierRequestHash of the request, stored with the
	// outcome under RequestID (empty in upgrades started before issue 15).
	RequestHash []byte
}

// SensitivePayload marks the payload for encryption.
func (UpgradeTierInput) SensitivePayload() {}

// UpgradeTierResult is the account at its new tier.
type UpgradeTierResult struct {
	Account bank.Account
}

// TierClaimUnderLock names the change of issue 15: the evidence is claimed
// under the account's lock, by an upgrade that passes every rule, and every
// outcome is stored under the request id (accounts' ApplyTierUpgrade).
// Before it (workflow.DefaultVersion) ClaimEvidence claimed the evidence
// before the tier was checked, so a refused upgrade kept the numbers it
// carried. Upgrades of that shape may be running: they keep their path.
const TierClaimUnderLock = "tier-claim-under-lock"

// UpgradeTier (task queue "accounts") verifies the evidence with the
// registry, then decides the upgrade under the account's row lock (the
// tier rules, the claim of the evidence, the new tier and the stored
// outcome in one transaction), and announces tier_upgraded. Refusals fail
// the workflow typed by their code; the registry's refusal is stored under
// the request id first, like the others.
func UpgradeTier(ctx workflow.Context, in UpgradeTierInput) (UpgradeTierResult, error) {
	if workflow.GetVersion(ctx, TierClaimUnderLock, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return upgradeTierClaimFirst(ctx, in)
	}
	regCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueRegistration, 30*time.Second))
	verifyErr := workflow.ExecuteActivity(regCtx, regActs.VerifyKYC, activities.VerifyKYCInput{KYC: in.KYC}).Get(ctx, nil)
	refused := activities.CodeOf(verifyErr)
	if verifyErr != nil && refused == "" {
		return UpgradeTierResult{}, verifyErr
	}

	var upgraded activities.UpgradeTierResult
	accCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueAccounts, 10*time.Second))
	err := workflow.ExecuteActivity(accCtx, accActs.ApplyTierUpgrade, activities.ApplyTierUpgradeInput{
		Upgrade: bank.TierUpgrade{
			RequestID: in.RequestID, AccountNumber: in.AccountNumber, UserID: in.UserID, Tier: in.Tier,
			RequestHash: in.RequestHash, Refused: refused,
		},
		KYC: in.KYC,
	}).Get(ctx, &upgraded)
	if err != nil {
		return UpgradeTierResult{}, err
	}
	if err := publishTierUpgraded(ctx, in, upgraded.Account); err != nil {
		return UpgradeTierResult{}, err
	}
	return UpgradeTierResult{Account: upgraded.Account}, nil
}

// upgradeTierClaimFirst is UpgradeTier before TierClaimUnderLock, kept for
// the upgrades that started with it.
func upgradeTierClaimFirst(ctx workflow.Context, in UpgradeTierInput) (UpgradeTierResult, error) {
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
	if err := publishTierUpgraded(ctx, in, upgraded.Account); err != nil {
		return UpgradeTierResult{}, err
	}
	return UpgradeTierResult{Account: upgraded.Account}, nil
}

func publishTierUpgraded(ctx workflow.Context, in UpgradeTierInput, acc bank.Account) error {
	ev := bank.Event{
		ID:            string(bank.EventTierUpgraded) + "/" + in.RequestID,
		Type:          bank.EventTierUpgraded,
		OccurredAt:    workflow.Now(ctx).UTC(),
		UserID:        in.UserID,
		AccountNumber: in.AccountNumber,
		Tier:          acc.Tier,
	}
	evCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueNotify, 10*time.Second))
	return workflow.ExecuteActivity(evCtx, evtActs.PublishEvent, ev).Get(ctx, nil)
}
