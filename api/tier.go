package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/workflows"
)

type tierRequest struct {
	Tier string   `json:"tier"`
	KYC  bank.KYC `json:"kyc"`
}

// upgradeNamespace scopes request ids derived from Idempotency-Key headers.
var upgradeNamespace = uuid.MustParse("6b1d0f64-3c1e-4d7e-9a43-1f4f6f0e2a10")

// TierOutcomes reads what is stored under an upgrade's request id once the
// upgrade was decided (postgres.Accounts); nil when nothing is.
type TierOutcomes interface {
	TierOutcome(ctx context.Context, requestID string) (*bank.TierOutcome, error)
}

// upgradeTier handles POST /accounts/{number}/tier: owner only, upgrades
// only. With an Idempotency-Key it follows the transfers' rule: the outcome
// is stored with the request's hash under the key, so the same key and
// body get the first outcome again (a refusal included, marked
// Idempotent-Replayed), and another body is IDEMPOTENCY_KEY_REUSED. Without
// a key each request is new (and a repeat is TIER_NOT_HIGHER).
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
	acc, err := s.ownedCustomerAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		if bank.ErrorCode(err) == bank.CodeNotFound {
			err = bank.Errorf(bank.CodeNotFound, "account not found")
		}
		writeError(w, r, err)
		return
	}
	p := principal(r)
	ctx := r.Context()
	requestID := uuid.NewString()
	hash := bank.TierRequestHash(s.d.IdentityKey, acc.AccountNumber, target, k)
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if err := bank.ValidateReference("Idempotency-Key", key); err != nil {
			writeError(w, r, err)
			return
		}
		requestID = uuid.NewSHA1(upgradeNamespace, []byte(p.UserID+"/"+acc.AccountNumber+"/"+key)).String()
		// A decided upgrade is answered from Postgres, whatever Temporal
		// still remembers.
		stored, err := s.d.Tiers.TierOutcome(ctx, requestID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if s.answerStoredTier(w, r, acc.AccountNumber, stored, hash) {
			return
		}
	}
	wfID := workflows.TierUpgradeID(acc.AccountNumber, requestID)
	if err := bank.CheckUpgradeRequest(acc.Tier, target, k.Type); err != nil {
		// Refuse what needs no registry call (the workflow checks again
		// under the account's lock), before anything is verified or claimed;
		// nothing happened, so nothing is stored under the key. Only a keyed
		// retry of an upgrade that already ran (and was decided by code
		// older than the stored outcomes) finds the account at its target:
		// it gets that run's outcome.
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
		RequestID: requestID, AccountNumber: acc.AccountNumber, UserID: p.UserID, Tier: target, KYC: k, RequestHash: hash,
	})
	if err != nil {
		writeError(w, r, unavailable(err))
		return
	}
	var res workflows.UpgradeTierResult
	err = await(ctx, run, s.d.TransferWait, &res)
	// A concurrent request with the same key but another body joined this
	// run (the workflow id is the key's): it must not get the run's outcome.
	if key != "" && s.otherBodyRan(ctx, wfID, requestID, hash, errors.Is(err, errStillRunning)) {
		writeError(w, r, bank.Errorf(bank.CodeIdempotencyReused, "%s", upgradeMessage(bank.CodeIdempotencyReused)))
		return
	}
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
		if code := activities.CodeOf(err); code != "" {
			writeError(w, r, bank.Errorf(code, "%s", upgradeMessage(code)))
			return
		}
		writeError(w, r, err)
	}
}

// answerStoredTier answers a keyed request whose key holds a decided
// upgrade, as bank.DecideTierRequest says; false when nothing is stored.
func (s *Server) answerStoredTier(w http.ResponseWriter, r *http.Request, number string, stored *bank.TierOutcome, hash []byte) bool {
	switch bank.DecideTierRequest(stored, hash) {
	case bank.TierNew:
		return false
	case bank.TierKeyReused:
		writeError(w, r, bank.Errorf(bank.CodeIdempotencyReused, "%s", upgradeMessage(bank.CodeIdempotencyReused)))
	case bank.TierReplayRefusal:
		w.Header().Set("Idempotent-Replayed", "true")
		writeError(w, r, bank.Errorf(stored.Refusal, "%s", upgradeMessage(stored.Refusal)))
	case bank.TierReplay:
		acc, err := s.d.Accounts.ByNumber(r.Context(), number)
		if err != nil {
			writeError(w, r, err)
			return true
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, viewAccount(acc))
	}
	return true
}

// otherBodyRan reports whether the upgrade run under the key was asked by
// another request body: by the outcome stored under the key once decided,
// or by the run's own input while it is still running.
func (s *Server) otherBodyRan(ctx context.Context, wfID, requestID string, hash []byte, running bool) bool {
	stored, err := s.d.Tiers.TierOutcome(ctx, requestID)
	if err == nil && stored != nil {
		return bank.DecideTierRequest(stored, hash) == bank.TierKeyReused
	}
	if !running {
		return false
	}
	runHash, err := s.tierRunHash(ctx, wfID)
	return err == nil && runHash != nil && !bytes.Equal(runHash, hash)
}

// tierRunHash reads the request hash an upgrade run was started with (its
// first history event; nil for runs older than the hash).
func (s *Server) tierRunHash(ctx context.Context, wfID string) ([]byte, error) {
	iter := s.d.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return nil, bank.Errorf(bank.CodeNotFound, "no such upgrade")
	}
	ev, err := iter.Next()
	if err != nil {
		return nil, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || s.d.DataConverter == nil {
		return nil, errors.New("upgrade history has no start event")
	}
	var in workflows.UpgradeTierInput
	if err := s.d.DataConverter.FromPayloads(attrs.GetInput(), &in); err != nil {
		return nil, err
	}
	return in.RequestHash, nil
}

// upgradeRan reports whether an upgrade workflow with the id exists (or
// Temporal could not say, in which case starting it reports the outage).
func (s *Server) upgradeRan(ctx context.Context, wfID string) bool {
	_, err := s.d.Temporal.DescribeWorkflow(ctx, wfID, "")
	var notFound *serviceerror.NotFound
	return !errors.As(err, &notFound)
}

func upgradeMessage(code bank.Code) string {
	switch code {
	case bank.CodeKYCFailed:
		return "the evidence could not be verified, or TIER_3 needs a verified BVN or NIN on file first"
	case bank.CodeTierNotHigher:
		return "only upgrades are possible"
	case bank.CodeIdentityInUse:
		return "this identity number already belongs to another user"
	case bank.CodeValidation:
		return "the evidence is not the kind this tier needs"
	case bank.CodeIdempotencyReused:
		return "this Idempotency-Key was already used for a different upgrade; use a new key"
	}
	return "the upgrade was refused"
}

func tierSearchAttributes(accountNumber, userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrFromAccount.ValueSet(accountNumber),
		workflows.AttrUserID.ValueSet(userID),
	)
}
