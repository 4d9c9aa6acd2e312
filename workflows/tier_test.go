package workflows_test

import (
	"context"
	"encoding/json"
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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
)

const (
	tierUserID    = "7d2a9c4e-1b3f-4e6a-8c5d-2f1e0a9b8c7d"
	tierAccount   = "3456789012"
	tierRequestID = "2f6c3b1a-8d4e-4f7a-9b2c-1e0d9f8a7b6c"
	tierIDCard    = "AB123456789"
	tierNIN       = "23456789012"
)

func tierInput(target bank.Tier, k bank.KYC) workflows.UpgradeTierInput {
	return workflows.UpgradeTierInput{
		RequestID: tierRequestID, AccountNumber: tierAccount, UserID: tierUserID, Tier: target, KYC: k,
	}
}

func tierAccountAt(tier bank.Tier) bank.Account {
	return bank.Account{ID: 42, AccountNumber: tierAccount, OwnerID: tierUserID, Tier: tier, Balance: 12_345_00, CreatedAt: startTime}
}

// Stores behind the real activities, answering from functions, so the
// activities' own translation of *bank.Error into typed, non-retryable
// application errors is part of what is tested.
type verifierFunc func(k bank.KYC) error

func (f verifierFunc) Verify(_ context.Context, k bank.KYC) error { return f(k) }

type evidenceFunc func(userID string, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error)

func (f evidenceFunc) ClaimEvidence(_ context.Context, userID string, _ bank.Tier, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error) {
	return f(userID, typ, numberHMAC)
}

type upgradeFunc func(in bank.TierUpgrade) (bank.Account, error)

func (f upgradeFunc) ProvisionDefault(context.Context, string) (bank.Account, error) {
	return bank.Account{}, errors.New("ProvisionDefault must not be called by an upgrade")
}

func (f upgradeFunc) UpgradeTier(_ context.Context, in bank.TierUpgrade) (bank.Account, error) {
	return f(in)
}

var tierIdentityKey = []byte("tier-test-identity-key")

// tierHarness runs UpgradeTier with every activity mocked by the real
// activity over a store function; a test swaps the functions before run.
// It runs the shape before TierClaimUnderLock (ClaimEvidence, then
// UpgradeTier), which upgrades started before issue 15 keep; the current
// shape's tests are in tier_lock_test.go.
type tierHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	calls *calls
	in    workflows.UpgradeTierInput

	verify  func(n int, k bank.KYC) error
	claim   func(n int, userID string, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error)
	upgrade func(n int, in bank.TierUpgrade) (bank.Account, error)
	publish func(n int, ev bank.Event) error

	mu     sync.Mutex
	queues map[string][]string // activity → task queues it ran on
}

// wantQueue is the task queue each activity must be scheduled on.
var wantQueue = map[string]string{
	"VerifyKYC":     workflows.QueueRegistration,
	"ClaimEvidence": workflows.QueueRegistration,
	"UpgradeTier":   workflows.QueueAccounts,
	"PublishEvent":  workflows.QueueNotify,
}

func newTierHarness(t *testing.T, in workflows.UpgradeTierInput, dc converter.DataConverter) *tierHarness {
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
	env.OnGetVersion(workflows.TierClaimUnderLock, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.RegisterWorkflow(workflows.UpgradeTier)
	env.RegisterActivity(&activities.Registration{})
	env.RegisterActivity(&activities.Accounts{})
	env.RegisterActivity(&activities.Events{})
	// An activity scheduled on any other queue finds no worker and fails.
	env.SetActivityTaskQueue(workflows.QueueRegistration, regActs.VerifyKYC, regActs.ClaimEvidence)
	env.SetActivityTaskQueue(workflows.QueueAccounts, accActs.UpgradeTier)
	env.SetActivityTaskQueue(workflows.QueueNotify, evtActs.PublishEvent)

	h := &tierHarness{t: t, env: env, calls: &calls{}, in: in, queues: map[string][]string{}}
	h.verify = func(int, bank.KYC) error { return nil }
	h.claim = func(_ int, _ string, typ bank.KYCType, _ []byte) ([]bank.KYCType, error) {
		if typ == bank.KYCIDCard {
			return []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}, nil
		}
		return []bank.KYCType{typ}, nil
	}
	h.upgrade = func(_ int, up bank.TierUpgrade) (bank.Account, error) { return tierAccountAt(up.Tier), nil }
	h.publish = func(int, bank.Event) error { return nil }

	env.OnActivity(regActs.VerifyKYC, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.VerifyKYCInput) error {
			n := h.record(ctx, "VerifyKYC", in)
			act := &activities.Registration{KYC: verifierFunc(func(k bank.KYC) error { return h.verify(n, k) })}
			return act.VerifyKYC(ctx, in)
		})
	env.OnActivity(regActs.ClaimEvidence, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.ClaimEvidenceInput) (activities.ClaimEvidenceResult, error) {
			n := h.record(ctx, "ClaimEvidence", in)
			act := &activities.Registration{IdentityKey: tierIdentityKey, Evidence: evidenceFunc(
				func(userID string, typ bank.KYCType, hmac []byte) ([]bank.KYCType, error) {
					return h.claim(n, userID, typ, hmac)
				})}
			return act.ClaimEvidence(ctx, in)
		})
	env.OnActivity(accActs.UpgradeTier, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.UpgradeTierInput) (activities.UpgradeTierResult, error) {
			n := h.record(ctx, "UpgradeTier", in)
			act := &activities.Accounts{Accounts: upgradeFunc(func(up bank.TierUpgrade) (bank.Account, error) { return h.upgrade(n, up) })}
			return act.UpgradeTier(ctx, in)
		})
	env.OnActivity(evtActs.PublishEvent, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, ev bank.Event) error {
			return h.publish(h.record(ctx, "PublishEvent", ev), ev)
		})
	return h
}

func (h *tierHarness) record(ctx context.Context, name string, in any) int {
	h.mu.Lock()
	h.queues[name] = append(h.queues[name], activity.GetInfo(ctx).TaskQueue)
	h.mu.Unlock()
	return h.calls.add(ctx, name, in)
}

func (h *tierHarness) run() {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.UpgradeTier, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, queues := range h.queues {
		for _, q := range queues {
			if q != wantQueue[name] {
				h.t.Errorf("%s ran on task queue %q, want %q", name, q, wantQueue[name])
			}
		}
	}
}

func (h *tierHarness) result() workflows.UpgradeTierResult {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.UpgradeTierResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// refusal asserts the workflow failed with a non-retryable application
// error typed by code, which the API maps with activities.CodeOf, and whose
// message does not carry the KYC number.
func (h *tierHarness) refusal(code bank.Code) {
	h.t.Helper()
	err := h.env.GetWorkflowError()
	if err == nil {
		h.t.Fatalf("workflow completed, want %s", code)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		h.t.Fatalf("workflow error %v is not an application error", err)
	}
	if appErr.Type() != string(code) || !appErr.NonRetryable() {
		h.t.Errorf("application error type %q non-retryable %v, want %s non-retryable", appErr.Type(), appErr.NonRetryable(), code)
	}
	if got := activities.CodeOf(err); got != code {
		h.t.Errorf("CodeOf(workflow error) = %q, want %s", got, code)
	}
	if strings.Contains(err.Error(), h.in.KYC.Number) {
		h.t.Errorf("failure %q carries the KYC number", err.Error())
	}
}

func (h *tierHarness) assertCalls(want ...string) {
	h.t.Helper()
	if got := h.calls.names(); !slices.Equal(got, want) {
		h.t.Errorf("activities called = %v, want %v", got, want)
	}
}

// assertUpgraded checks a completed upgrade of h.in: the steps' inputs, the
// event and the result (callers check the order of the calls).
func (h *tierHarness) assertUpgraded(onFile []bank.KYCType) {
	t := h.t
	t.Helper()
	in := h.in
	res := h.result()
	want := tierAccountAt(in.Tier)
	if !jsonEqual(t, res.Account, want) {
		t.Errorf("result account = %+v, want %+v", res.Account, want)
	}

	if got := h.calls.inputs("VerifyKYC"); len(got) != 1 || got[0] != (activities.VerifyKYCInput{KYC: in.KYC}) {
		t.Errorf("VerifyKYC inputs = %+v, want the submitted evidence", got)
	}
	if got := h.calls.inputs("ClaimEvidence"); len(got) != 1 ||
		got[0] != (activities.ClaimEvidenceInput{UserID: in.UserID, Tier: in.Tier, KYC: in.KYC}) {
		t.Errorf("ClaimEvidence inputs = %+v, want user %s, the target tier and the submitted evidence", got, in.UserID)
	}
	up := h.calls.inputs("UpgradeTier")
	if len(up) != 1 {
		t.Fatalf("UpgradeTier inputs = %+v", up)
	}
	wantUp := activities.UpgradeTierInput{Upgrade: bank.TierUpgrade{
		RequestID: in.RequestID, AccountNumber: in.AccountNumber, UserID: in.UserID,
		Tier: in.Tier, EvidenceType: in.KYC.Type, EvidenceOnFile: onFile,
	}}
	if !jsonEqual(t, up[0], wantUp) {
		t.Errorf("UpgradeTier input = %+v, want %+v", up[0], wantUp)
	}

	evs := h.calls.inputs("PublishEvent")
	if len(evs) == 0 {
		t.Fatal("no event published")
	}
	ev := evs[0].(bank.Event)
	for i, other := range evs[1:] {
		if other != ev {
			t.Errorf("publish attempt %d sent %+v, the first sent %+v", i+2, other, ev)
		}
	}
	if ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC || ev.OccurredAt.Before(startTime) {
		t.Errorf("event OccurredAt = %v, want workflow time in UTC", ev.OccurredAt)
	}
	wantEv := bank.Event{
		ID:            "tier_upgraded/" + in.RequestID,
		Type:          bank.EventTierUpgraded,
		OccurredAt:    ev.OccurredAt,
		UserID:        in.UserID,
		AccountNumber: in.AccountNumber,
		Tier:          in.Tier,
	}
	if ev != wantEv {
		t.Errorf("event = %+v, want %+v", ev, wantEv)
	}
	wire, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wire), in.KYC.Number) {
		t.Errorf("event %s carries the KYC number", wire)
	}
	// The event becomes a TIER_UPGRADED notification for the owner.
	ns, err := bank.NotificationsFor(ev)
	if err != nil || len(ns) != 1 || ns[0].UserID != in.UserID || ns[0].Type != bank.NotificationTierUpgraded {
		t.Errorf("notifications of the event = %+v, %v; want one TIER_UPGRADED for %s", ns, err, in.UserID)
	}
}

func TestUpgradeTier_Success(t *testing.T) {
	cases := []struct {
		name   string
		tier   bank.Tier
		kyc    bank.KYC
		onFile []bank.KYCType
	}{
		{"TIER_2 with NIN", bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}, []bank.KYCType{bank.KYCNIN}},
		{"TIER_2 with BVN", bank.Tier2, bank.KYC{Type: bank.KYCBVN, Number: tierNIN}, []bank.KYCType{bank.KYCBVN}},
		{"TIER_3 with ID_CARD", bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard}, []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newTierHarness(t, tierInput(c.tier, c.kyc), nil)
			h.claim = func(_ int, userID string, typ bank.KYCType, hmac []byte) ([]bank.KYCType, error) {
				// The store gets the keyed digest of the evidence, never the number.
				if userID != tierUserID || typ != c.kyc.Type || string(hmac) != string(bank.KYCDigest(tierIdentityKey, c.kyc)) {
					return nil, unexpected("ClaimEvidence with other arguments")
				}
				return c.onFile, nil
			}
			h.run()
			h.assertUpgraded(c.onFile)
			h.assertCalls("VerifyKYC", "ClaimEvidence", "UpgradeTier", "PublishEvent")
		})
	}
}

func TestUpgradeTier_KYCFailed(t *testing.T) {
	h := newTierHarness(t, tierInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: "23456780000"}), nil)
	h.verify = func(_ int, k bank.KYC) error { // what the KYC client answers on no match
		return bank.Errorf(bank.CodeKYCFailed, "the %s could not be verified", k.Type)
	}
	h.claim = func(int, string, bank.KYCType, []byte) ([]bank.KYCType, error) {
		return nil, unexpected("ClaimEvidence")
	}
	h.upgrade = func(int, bank.TierUpgrade) (bank.Account, error) { return bank.Account{}, unexpected("UpgradeTier") }
	h.publish = func(int, bank.Event) error { return unexpected("PublishEvent") }

	h.run()
	h.refusal(bank.CodeKYCFailed)
	h.assertCalls("VerifyKYC") // final: not retried, nothing after it
}

func TestUpgradeTier_KYCTimeoutRetried(t *testing.T) {
	h := newTierHarness(t, tierInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}), nil)
	h.verify = func(n int, _ bank.KYC) error {
		if n <= 2 {
			return errors.New("registry unreachable")
		}
		return nil
	}
	h.run()
	h.assertCalls("VerifyKYC", "VerifyKYC", "VerifyKYC", "ClaimEvidence", "UpgradeTier", "PublishEvent")
	if got := h.calls.attempts("VerifyKYC"); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("VerifyKYC attempts = %v, want [1 2 3]", got)
	}
}

func TestUpgradeTier_IdentityInUse(t *testing.T) {
	h := newTierHarness(t, tierInput(bank.Tier2, bank.KYC{Type: bank.KYCBVN, Number: tierNIN}), nil)
	h.claim = func(int, string, bank.KYCType, []byte) ([]bank.KYCType, error) {
		return nil, bank.Errorf(bank.CodeIdentityInUse, "this BVN already belongs to another user")
	}
	h.upgrade = func(int, bank.TierUpgrade) (bank.Account, error) { return bank.Account{}, unexpected("UpgradeTier") }
	h.publish = func(int, bank.Event) error { return unexpected("PublishEvent") }

	h.run()
	h.refusal(bank.CodeIdentityInUse)
	h.assertCalls("VerifyKYC", "ClaimEvidence")
}

func TestUpgradeTier_StoreRefusals(t *testing.T) {
	// What the store answers under the row lock: the workflow fails typed
	// and announces nothing.
	for _, code := range []bank.Code{bank.CodeTierNotHigher, bank.CodeKYCFailed, bank.CodeNotFound, bank.CodeValidation} {
		t.Run(string(code), func(t *testing.T) {
			h := newTierHarness(t, tierInput(bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard}), nil)
			h.upgrade = func(int, bank.TierUpgrade) (bank.Account, error) {
				return bank.Account{}, bank.Errorf(code, "refused")
			}
			h.publish = func(int, bank.Event) error { return unexpected("PublishEvent") }

			h.run()
			h.refusal(code)
			h.assertCalls("VerifyKYC", "ClaimEvidence", "UpgradeTier") // not retried, no event
		})
	}
}

func TestUpgradeTier_TransientUpgradeErrorRetried(t *testing.T) {
	h := newTierHarness(t, tierInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}), nil)
	h.upgrade = func(n int, up bank.TierUpgrade) (bank.Account, error) {
		if n == 1 {
			return bank.Account{}, errors.New("conn reset by peer")
		}
		return tierAccountAt(up.Tier), nil
	}

	h.run()
	if res := h.result(); res.Account.Tier != bank.Tier2 {
		t.Errorf("result = %+v", res)
	}
	// Only the failed step is retried, with the same request id (the store's
	// idempotency key): the evidence is verified and claimed once.
	h.assertCalls("VerifyKYC", "ClaimEvidence", "UpgradeTier", "UpgradeTier", "PublishEvent")
	if got := h.calls.attempts("UpgradeTier"); !slices.Equal(got, []int32{1, 2}) {
		t.Errorf("UpgradeTier attempts = %v, want [1 2]", got)
	}
	if got := h.calls.inputs("UpgradeTier"); !jsonEqual(t, got[0], got[1]) {
		t.Errorf("the retry changed the input: %+v", got)
	}
}

func TestUpgradeTier_PublishRetried(t *testing.T) {
	h := newTierHarness(t, tierInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}), nil)
	h.publish = func(n int, _ bank.Event) error {
		if n <= 2 {
			return errors.New("broker unreachable")
		}
		return nil
	}
	h.run()
	h.assertUpgraded([]bank.KYCType{bank.KYCNIN}) // every attempt sent the same event
	h.assertCalls("VerifyKYC", "ClaimEvidence", "UpgradeTier", "PublishEvent", "PublishEvent", "PublishEvent")
}

// TestUpgradeTier_WithCodecConverter runs the workflow through the
// production data converter: the KYC number is sealed wherever it appears,
// and nothing encoded in the clear carries it.
func TestUpgradeTier_WithCodecConverter(t *testing.T) {
	cases := []struct {
		name    string
		in      workflows.UpgradeTierInput
		refusal bank.Code
	}{
		{"TIER_2 upgraded", tierInput(bank.Tier2, bank.KYC{Type: bank.KYCNIN, Number: tierNIN}), ""},
		{"TIER_3 upgraded", tierInput(bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard}), ""},
		{"TIER_3 refused", tierInput(bank.Tier3, bank.KYC{Type: bank.KYCIDCard, Number: tierIDCard}), bank.CodeKYCFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{DataConverter: codec.NewDataConverter(codec.DevKeyring())}
			h := newTierHarness(t, c.in, rec)
			onFile := []bank.KYCType{c.in.KYC.Type}
			if c.in.KYC.Type == bank.KYCIDCard {
				onFile = []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}
			}
			h.claim = func(int, string, bank.KYCType, []byte) ([]bank.KYCType, error) { return onFile, nil }
			if c.refusal != "" {
				h.upgrade = func(int, bank.TierUpgrade) (bank.Account, error) {
					return bank.Account{}, bank.Errorf(c.refusal, "TIER_3 needs a verified BVN or NIN on file")
				}
			}
			h.run()
			if c.refusal == "" {
				h.assertUpgraded(onFile)
				h.assertCalls("VerifyKYC", "ClaimEvidence", "UpgradeTier", "PublishEvent")
			} else {
				h.refusal(c.refusal)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			sealed := 0
			for _, p := range rec.payloads {
				if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncodingEncrypted {
					sealed++
					continue
				}
				if strings.Contains(string(p.GetData()), c.in.KYC.Number) {
					t.Errorf("payload %s carries the KYC number unsealed", p.GetData())
				}
			}
			// The workflow input, VerifyKYC's and ClaimEvidence's inputs.
			if sealed < 3 {
				t.Errorf("%d payloads sealed, want at least 3 (workflow input, VerifyKYC and ClaimEvidence inputs)", sealed)
			}
		})
	}
}
