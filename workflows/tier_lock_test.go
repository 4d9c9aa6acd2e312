package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
)

// tierStoreFunc is the tier store behind the real ApplyTierUpgrade.
type tierStoreFunc func(in bank.TierUpgrade) (bank.Account, error)

func (f tierStoreFunc) ApplyTierUpgrade(_ context.Context, in bank.TierUpgrade) (bank.Account, error) {
	return f(in)
}

// lockHarness runs UpgradeTier as new upgrades run it (TierClaimUnderLock):
// VerifyKYC, then ApplyTierUpgrade under the account's lock, then the
// event; every activity is the real one over a function.
type lockHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	calls *calls
	in    workflows.UpgradeTierInput

	verify  func(n int, k bank.KYC) error
	apply   func(n int, in bank.TierUpgrade) (bank.Account, error)
	publish func(n int, ev bank.Event) error

	mu     sync.Mutex
	queues map[string][]string
}

var lockQueue = map[string]string{
	"VerifyKYC":        workflows.QueueRegistration,
	"ApplyTierUpgrade": workflows.QueueAccounts,
	"PublishEvent":     workflows.QueueNotify,
}

func newLockHarness(t *testing.T, in workflows.UpgradeTierInput, dc converter.DataConverter) *lockHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	if dc != nil {
		env.SetDataConverter(dc)
	}
	env.SetStartTime(startTime)
	env.SetTestTimeout(10 * time.Second)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{
		ID: workflows.TierUpgradeID(in.AccountNumber, in.RequestID), TaskQueue: workflows.QueueAccounts,
	})
	env.RegisterWorkflow(workflows.UpgradeTier)
	env.RegisterActivity(&activities.Registration{})
	env.RegisterActivity(&activities.Accounts{})
	env.RegisterActivity(&activities.Events{})
	env.SetActivityTaskQueue(workflows.QueueRegistration, regActs.VerifyKYC, regActs.ClaimEvidence)
	env.SetActivityTaskQueue(workflows.QueueAccounts, accActs.ApplyTierUpgrade, accActs.UpgradeTier)
	env.SetActivityTaskQueue(workflows.QueueNotify, evtActs.PublishEvent)

	h := &lockHarness{t: t, env: env, calls: &calls{}, in: in, queues: map[string][]string{}}
	h.verify = func(int, bank.KYC) error { return nil }
	h.apply = func(_ int, up bank.TierUpgrade) (bank.Account, error) {
		if up.Refused != "" {
			return bank.Account{}, bank.Errorf(up.Refused, "the upgrade was refused")
		}
		return tierAccountAt(up.Tier), nil
	}
	h.publish = func(int, bank.Event) error { return nil }

	env.OnActivity(regActs.VerifyKYC, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.VerifyKYCInput) error {
			n := h.record(ctx, "VerifyKYC", in)
			act := &activities.Registration{KYC: verifierFunc(func(k bank.KYC) error { return h.verify(n, k) })}
			return act.VerifyKYC(ctx, in)
		})
	env.OnActivity(regActs.ClaimEvidence, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.ClaimEvidenceInput) (activities.ClaimEvidenceResult, error) {
			h.record(ctx, "ClaimEvidence", in)
			return activities.ClaimEvidenceResult{}, unexpected("ClaimEvidence")
		})
	env.OnActivity(accActs.UpgradeTier, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.UpgradeTierInput) (activities.UpgradeTierResult, error) {
			h.record(ctx, "UpgradeTier", in)
			return activities.UpgradeTierResult{}, unexpected("UpgradeTier")
		})
	env.OnActivity(accActs.ApplyTierUpgrade, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.ApplyTierUpgradeInput) (activities.UpgradeTierResult, error) {
			n := h.record(ctx, "ApplyTierUpgrade", in)
			act := &activities.Accounts{IdentityKey: tierIdentityKey, Tiers: tierStoreFunc(
				func(up bank.TierUpgrade) (bank.Account, error) { return h.apply(n, up) })}
			return act.ApplyTierUpgrade(ctx, in)
		})
	env.OnActivity(evtActs.PublishEvent, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, ev bank.Event) error {
			return h.publish(h.record(ctx, "PublishEvent", ev), ev)
		})
	return h
}

func (h *lockHarness) record(ctx context.Context, name string, in any) int {
	h.mu.Lock()
	h.queues[name] = append(h.queues[name], activity.GetInfo(ctx).TaskQueue)
	h.mu.Unlock()
	return h.calls.add(ctx, name, in)
}

func (h *lockHarness) run() {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.UpgradeTier, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, queues := range h.queues {
		for _, q := range queues {
			if q != lockQueue[name] {
				h.t.Errorf("%s ran on task queue %q, want %q", name, q, lockQueue[name])
			}
		}
	}
}

func (h *lockHarness) assertCalls(want ...string) {
	h.t.Helper()
	if got := h.calls.names(); !slices.Equal(got, want) {
		h.t.Errorf("activities called = %v, want %v", got, want)
	}
}

// refusal asserts a typed, non-retryable failure with code that names no
// KYC number (as tierHarness.refusal does).
func (h *lockHarness) refusal(code bank.Code) {
	h.t.Helper()
	err := h.env.GetWorkflowError()
	if err == nil {
		h.t.Fatalf("workflow completed, want %s", code)
	}
	if got := activities.CodeOf(err); got != code {
		h.t.Errorf("CodeOf(workflow error) = %q, want %s (%v)", got, code, err)
	}
	if strings.Contains(err.Error(), h.in.KYC.Number) {
		h.t.Errorf("failure %q carries the KYC number", err.Error())
	}
}

func lockInput(target bank.Tier, k bank.KYC) workflows.UpgradeTierInput {
	in := tierInput(target, k)
	in.RequestHash = bank.TierRequestHash(tierIdentityKey, in.AccountNumber, target, k)
	return in
}

// The store receives everything it needs to decide under the lock: the
// request, its hash, and the evidence as its keyed digest (never the
// number); no evidence is claimed before it.
func TestUpgradeTierUnderLock_Success(t *testing.T) {
	for _, c := range []struct {
		name string
		tier bank.Tier
		kyc  bank.KYC
	}{
		{"TIER_2 with NIN", bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}},
		{"TIER_3 with ID_CARD", bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := lockInput(c.tier, c.kyc)
			h := newLockHarness(t, in, nil)
			var got bank.TierUpgrade
			h.apply = func(_ int, up bank.TierUpgrade) (bank.Account, error) {
				got = up
				return tierAccountAt(up.Tier), nil
			}
			h.run()
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res workflows.UpgradeTierResult
			if err := h.env.GetWorkflowResult(&res); err != nil || res.Account.Tier != c.tier {
				t.Fatalf("result %+v, %v", res, err)
			}
			h.assertCalls("VerifyKYC", "ApplyTierUpgrade", "PublishEvent")
			want := bank.TierUpgrade{
				RequestID: in.RequestID, AccountNumber: in.AccountNumber, UserID: in.UserID, Tier: in.Tier,
				EvidenceType: c.kyc.Type, EvidenceHMAC: bank.KYCDigest(tierIdentityKey, c.kyc), RequestHash: in.RequestHash,
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("store got %+v, want %+v", got, want)
			}
			evs := h.calls.inputs("PublishEvent")
			if ev := evs[0].(bank.Event); ev.ID != "tier_upgraded/"+in.RequestID || ev.Tier != c.tier || ev.UserID != in.UserID {
				t.Errorf("event %+v", ev)
			}
		})
	}
}

// The registry's refusal is stored under the request id like the others
// (so a keyed retry gets it again after Temporal's retention), and
// nothing is claimed: the store is told the refusal, not the evidence to
// claim.
func TestUpgradeTierUnderLock_KYCFailedIsStored(t *testing.T) {
	h := newLockHarness(t, lockInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: "23456780000"}), nil)
	h.verify = func(_ int, k bank.KYC) error {
		return bank.Errorf(bank.CodeKYCFailed, "the %s could not be verified", k.Type)
	}
	var got bank.TierUpgrade
	h.apply = func(_ int, up bank.TierUpgrade) (bank.Account, error) {
		got = up
		return bank.Account{}, bank.Errorf(up.Refused, "the upgrade was refused")
	}
	h.publish = func(int, bank.Event) error { return unexpected("PublishEvent") }
	h.run()
	h.refusal(bank.CodeKYCFailed)
	h.assertCalls("VerifyKYC", "ApplyTierUpgrade")
	if got.Refused != bank.CodeKYCFailed || got.RequestHash == nil {
		t.Errorf("store got %+v, want the refusal KYC_FAILED with the request hash", got)
	}
}

// What the store decides under the lock fails the workflow typed, without
// a retry or an event.
func TestUpgradeTierUnderLock_StoreRefusals(t *testing.T) {
	for _, code := range []bank.Code{bank.CodeTierNotHigher, bank.CodeIdentityInUse, bank.CodeKYCFailed,
		bank.CodeIdempotencyReused, bank.CodeNotFound} {
		t.Run(string(code), func(t *testing.T) {
			h := newLockHarness(t, lockInput(bank.Tier2, bank.KYC{Type: bank.KYCBVN, Number: tierNIN}), nil)
			h.apply = func(int, bank.TierUpgrade) (bank.Account, error) { return bank.Account{}, bank.Errorf(code, "refused") }
			h.publish = func(int, bank.Event) error { return unexpected("PublishEvent") }
			h.run()
			h.refusal(code)
			h.assertCalls("VerifyKYC", "ApplyTierUpgrade")
		})
	}
}

func TestUpgradeTierUnderLock_Retries(t *testing.T) {
	h := newLockHarness(t, lockInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}), nil)
	h.verify = func(n int, _ bank.KYC) error {
		if n == 1 {
			return errors.New("registry unreachable")
		}
		return nil
	}
	h.apply = func(n int, up bank.TierUpgrade) (bank.Account, error) {
		if n == 1 {
			return bank.Account{}, errors.New("conn reset by peer")
		}
		return tierAccountAt(up.Tier), nil
	}
	h.run()
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	h.assertCalls("VerifyKYC", "VerifyKYC", "ApplyTierUpgrade", "ApplyTierUpgrade", "PublishEvent")
	if got := h.calls.inputs("ApplyTierUpgrade"); !jsonEqual(t, got[0], got[1]) {
		t.Errorf("the retry changed the input: %+v", got)
	}
}

// Through the production converter the KYC number is sealed wherever it
// travels: the workflow input, VerifyKYC's and ApplyTierUpgrade's inputs.
func TestUpgradeTierUnderLock_SealsTheNumber(t *testing.T) {
	in := lockInput(bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard})
	rec := &recorder{DataConverter: codec.NewDataConverter(codec.DevKeyring())}
	h := newLockHarness(t, in, rec)
	h.run()
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sealed := 0
	for _, p := range rec.payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncodingEncrypted {
			sealed++
			continue
		}
		if strings.Contains(string(p.GetData()), in.KYC.Number) {
			t.Errorf("payload %s carries the KYC number unsealed", p.GetData())
		}
	}
	if sealed < 3 {
		t.Errorf("%d payloads sealed, want at least 3", sealed)
	}
}
