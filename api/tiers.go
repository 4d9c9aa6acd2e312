package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/workflows"
)

type tierRequest struct {
	Tier string   `json:"tier"`
	KYC  bank.KYC `json:"kyc"`
}

// upgradeNamespace scopes request ids derived from Idempotency-Key headers.
var upgradeNamespace = uuid.MustParse("6b1d0f64-3c1e-4d7e-9a43-1f4f6f0e2a10")

// upgradeTier handles POST /accounts/{number}/tier: owner only, upgrades
// only. An Idempotency-Key header makes a retry return the first outcome;
// without one each request is new (and a repeat is TIER_NOT_HIGHER).
func (s *Server) upgradeTier(w http.ResponseWriter, r *http.Request) {
	var body tierRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	target, err := bank.ParseTier(body.Tier)
	if err != nil {
		writeError(w, r, err)
		return
	}
	k, err := bank.NormalizeKYC(body.KYC)
	if err != nil {
		writeError(w, r, err)
		return
	}
	acc, err := s.ownAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	p := principal(r)
	ctx := r.Context()
	requestID := uuid.NewString()
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if err := bank.ValidateReference("Idempotency-Key", key); err != nil {
			writeError(w, r, err)
			return
		}
		requestID = uuid.NewSHA1(upgradeNamespace, []byte(p.UserID+"/"+acc.AccountNumber+"/"+key)).String()
	}
	wfID := workflows.TierUpgradeID(acc.AccountNumber, requestID)
	if err := bank.CheckUpgradeRequest(acc.Tier, target, k.Type); err != nil {
		// Refuse what needs no registry call (the workflow checks again
		// under the account's lock), before anything is verified or claimed.
		// Only a keyed retry of an upgrade that already ran finds the account
		// at its target: it gets that run's outcome.
		if key == "" || bank.ErrorCode(err) != bank.CodeTierNotHigher || !s.upgradeRan(ctx, wfID) {
			writeError(w, r, err)
			return
		}
	}

	run, err := s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                workflows.QueueAccounts,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    tierSearchAttributes(acc.AccountNumber, p.UserID),
	}, workflows.UpgradeTier, workflows.UpgradeTierInput{
		RequestID: requestID, AccountNumber: acc.AccountNumber, UserID: p.UserID, Tier: target, KYC: k,
	})
	if err != nil {
		writeError(w, r, unavailable(err))
		return
	}
	var res workflows.UpgradeTierResult
	err = await(ctx, run, s.d.TransferWait, &res)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, viewAccount(res.Account))
	case errors.Is(err, errStillRunning):
		// Still verifying (a slow registry): the upgrade goes on; the
		// account shows the new tier when it is done.
		writeJSON(w, http.StatusAccepted, map[string]any{
			"account_number": acc.AccountNumber, "tier": acc.Tier, "requested_tier": target, "status": "PENDING",
		})
	default:
		if code := workflows.CodeOf(err); code != "" {
			writeError(w, r, refusal(code))
			return
		}
		writeError(w, r, err)
	}
}

// upgradeRan reports whether an upgrade workflow with the id exists (or
// Temporal could not say, in which case starting it reports the outage).
func (s *Server) upgradeRan(ctx context.Context, wfID string) bool {
	_, err := s.d.Temporal.DescribeWorkflow(ctx, wfID, "")
	var notFound *serviceerror.NotFound
	return !errors.As(err, &notFound)
}

func tierSearchAttributes(accountNumber, userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrFromAccount.ValueSet(accountNumber),
		workflows.AttrUserID.ValueSet(userID),
	)
}

// ownAccount loads an account the caller owns: only the owner upgrades it.
// Another's account and a missing one get the very same answer, so the
// answer never tells which account numbers exist. Errors: NOT_FOUND.
func (s *Server) ownAccount(r *http.Request, number string) (bank.Account, error) {
	a, err := s.d.Accounts.ByNumber(r.Context(), number)
	if bank.ErrorCode(err) == bank.CodeNotFound || (err == nil && a.OwnerID != principal(r).UserID) {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	return a, err
}
