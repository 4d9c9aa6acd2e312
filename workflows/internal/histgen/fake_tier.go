package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/workflows"
	"github.com/bankcore/bank/workflows/internal/histgen/fixture"
)

// histgenIdentityKey digests KYC numbers in the recorded runs.
var histgenIdentityKey = []byte("histgen-identity-key")

// tierAccount is the account the fake stores hold, at tier.
func tierAccount(tier bank.Tier) bank.Account {
	return bank.Account{AccountNumber: fixture.TierAccount, OwnerID: fixture.TierOwnerID, Tier: tier, CreatedAt: time.Now().UTC()}
}

// UpgradeTier answers the account at its new tier, as the real store does
// once the rules pass.
func (fakeAccounts) UpgradeTier(_ context.Context, in bank.TierUpgrade) (bank.Account, error) {
	if in.AccountNumber != fixture.TierAccount {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	return tierAccount(in.Tier), nil
}

// ApplyTierUpgrade decides as the real store does under the lock: a
// refusal it is told of, KYCOtherOwner in use, else the new tier.
func (fakeAccounts) ApplyTierUpgrade(_ context.Context, in bank.TierUpgrade) (bank.Account, error) {
	switch {
	case in.AccountNumber != fixture.TierAccount:
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	case in.Refused != "":
		return bank.Account{}, in.Refusal()
	case string(in.EvidenceHMAC) == string(bank.KYCDigest(histgenIdentityKey, bank.KYC{Type: in.EvidenceType, Number: fixture.KYCOtherOwner})):
		return bank.Account{}, bank.Errorf(bank.CodeIdentityInUse, "this %s already belongs to another user", in.EvidenceType)
	}
	return tierAccount(in.Tier), nil
}

// fakeEvidence claims any number but KYCOtherOwner, which is someone
// else's.
type fakeEvidence struct{}

func (fakeEvidence) ClaimEvidence(_ context.Context, _ string, _ bank.Tier, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error) {
	if string(numberHMAC) == string(bank.KYCDigest(histgenIdentityKey, bank.KYC{Type: typ, Number: fixture.KYCOtherOwner})) {
		return nil, bank.Errorf(bank.CodeIdentityInUse, "this %s already belongs to another user", typ)
	}
	return []bank.KYCType{bank.KYCNIN, typ}, nil
}

// recordTier runs one tier case as the API starts it, checks its outcome
// and writes its history.
func recordTier(ctx context.Context, c client.Client, tc fixture.TierCase, outDir string) error {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       tc.WorkflowID(),
		TaskQueue:                workflows.QueueAccounts,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: time.Minute,
	}, workflows.UpgradeTier, tc.Input)
	if err != nil {
		return err
	}
	var res workflows.UpgradeTierResult
	err = run.Get(ctx, &res)
	switch {
	case tc.Outcome == "" && err != nil:
		return fmt.Errorf("want success, got %w", err)
	case tc.Outcome == "" && res.Account.Tier != tc.Input.Tier:
		return fmt.Errorf("unexpected result: account at %s", res.Account.Tier)
	case tc.Outcome != "" && activities.CodeOf(err) != tc.Outcome:
		return fmt.Errorf("want failure %s, got %w", tc.Outcome, err)
	}
	return writeHistory(ctx, c, run, tc.Name, outDir)
}
