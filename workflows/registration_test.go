package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
)

func testInput() workflows.RegistrationInput {
	return workflows.RegistrationInput{
		Nonce:        "nonce-3f9a",
		Email:        "chioma.obi@example.com",
		FullName:     "Chioma Obi",
		Phone:        "+2348012345678",
		PasswordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		KYC:          bank.KYC{Type: bank.KYCNIN, Number: "12345678901"},
		Fingerprint:  []byte{0xfa, 0xce, 0x01},
	}
}

func testUser(in workflows.RegistrationInput) bank.User {
	return bank.User{
		ID:        "6f1c2a7e-0d4b-4c55-9a51-2b7f1f0c9e11",
		Email:     in.Email,
		FullName:  in.FullName,
		Phone:     in.Phone,
		Role:      bank.RoleCustomer,
		CreatedAt: startTime,
	}
}

func testAccount(userID string) bank.Account {
	return bank.Account{AccountNumber: "1234567897", OwnerID: userID, Tier: bank.Tier1, CreatedAt: startTime}
}

// harness is a test environment with the workflow, the activity structs
// bound to the task queues the workflow must use, and a mock for every
// activity. Each mock answers with the matching reply func; a test swaps in
// its own before Run. Activities a branch must not reach fail with a
// non-retryable UNEXPECTED_CALL, so a wrong branch ends the run instead of
// retrying forever.
type harness struct {
	wfRun
	in workflows.RegistrationInput

	verifyKYC        func(n int, in activities.VerifyKYCInput) error
	createUser       func(n int, in activities.CreateUserInput) (activities.CreateUserResult, error)
	provisionAccount func(n int, in activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error)
	publishEvent     func(n int, ev bank.Event) error
}

func newHarness(t *testing.T, dc converter.DataConverter) *harness {
	t.Helper()
	r := newRun(t, dc, startTime)
	env := r.env
	in := testInput()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.RegistrationID(in.Email)})

	env.RegisterWorkflow(workflows.Registration)
	r.onQueues([]any{regActs.VerifyKYC, regActs.CreateUser}, []any{accActs.ProvisionAccount})

	h := &harness{wfRun: r, in: in}
	user := testUser(in)
	h.verifyKYC = func(int, activities.VerifyKYCInput) error { return nil }
	h.createUser = func(int, activities.CreateUserInput) (activities.CreateUserResult, error) {
		return activities.CreateUserResult{User: user}, nil
	}
	h.provisionAccount = func(_ int, in activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error) {
		return activities.ProvisionAccountResult{Account: testAccount(in.UserID)}, nil
	}
	h.publishEvent = func(int, bank.Event) error { return nil }

	env.OnActivity(regActs.VerifyKYC, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.VerifyKYCInput) error {
			n := h.calls.add(ctx, "VerifyKYC", in)
			return h.verifyKYC(n, in)
		})
	env.OnActivity(regActs.CreateUser, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.CreateUserInput) (activities.CreateUserResult, error) {
			n := h.calls.add(ctx, "CreateUser", in)
			return h.createUser(n, in)
		})
	env.OnActivity(accActs.ProvisionAccount, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error) {
			n := h.calls.add(ctx, "ProvisionAccount", in)
			return h.provisionAccount(n, in)
		})
	env.OnActivity(evtActs.PublishEvent, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, ev bank.Event) error {
			return h.publishEvent(h.calls.add(ctx, "PublishEvent", ev), ev)
		})
	return h
}

func (h *harness) run() {
	h.t.Helper()
	h.execute(workflows.Registration, h.in)
}

func (h *harness) result() workflows.RegistrationResult {
	return resultOf[workflows.RegistrationResult](h.wfRun)
}

// refusal asserts the workflow failed with a non-retryable application error
// of type code carrying the input's nonce, as the API expects.
func (h *harness) refusal(code bank.Code) {
	h.t.Helper()
	var detail workflows.RegistrationFailure
	appErr := h.refusalDetail(code, &detail)
	if detail.Nonce != h.in.Nonce {
		h.t.Errorf("RegistrationFailure.Nonce = %q, want %q", detail.Nonce, h.in.Nonce)
	}
	for _, pii := range piiOf(h.in) {
		if strings.Contains(appErr.Error(), pii) {
			h.t.Errorf("refusal message %q leaks %q", appErr.Error(), pii)
		}
	}
}

func (h *harness) assertNotCalled(names ...string) {
	h.t.Helper()
	for _, name := range names {
		h.env.AssertNotCalled(h.t, name, mock.Anything, mock.Anything)
	}
}

func piiOf(in workflows.RegistrationInput) []string {
	return []string{in.Email, in.FullName, in.Phone, in.PasswordHash, in.KYC.Number}
}

func TestRegistration_Verified(t *testing.T) {
	h := newHarness(t, nil)
	user := testUser(h.in)
	h.env.OnUpsertTypedSearchAttributes(
		temporal.NewSearchAttributes(workflows.AttrUserID.ValueSet(user.ID)),
	).Return(nil).Once()

	h.run()
	res := h.result()
	assertVerified(t, h, res)
	h.env.AssertExpectations(t) // the BankUserID upsert happened, with the user id
}

// assertVerified checks what the API and the notifier rely on after a
// completed registration.
func assertVerified(t *testing.T, h *harness, res workflows.RegistrationResult) {
	t.Helper()
	in, user := h.in, testUser(h.in)

	if res.Nonce != in.Nonce || string(res.Fingerprint) != string(in.Fingerprint) {
		t.Errorf("result echoes nonce %q fingerprint %x, want %q %x", res.Nonce, res.Fingerprint, in.Nonce, in.Fingerprint)
	}
	if !res.User.CreatedAt.Equal(user.CreatedAt) {
		t.Errorf("result user created at %v, want %v", res.User.CreatedAt, user.CreatedAt)
	}
	res.User.CreatedAt = user.CreatedAt // compare the rest without the location
	if res.User != user {
		t.Errorf("result user = %+v, want %+v", res.User, user)
	}
	wantAcc := testAccount(user.ID)
	if res.Account.AccountNumber != wantAcc.AccountNumber || res.Account.OwnerID != user.ID || res.Account.Tier != bank.Tier1 {
		t.Errorf("result account = %+v, want %+v", res.Account, wantAcc)
	}

	h.assertCalls("VerifyKYC", "CreateUser", "ProvisionAccount", "PublishEvent")

	if got := h.calls.inputs("VerifyKYC"); len(got) != 1 || got[0] != (activities.VerifyKYCInput{KYC: in.KYC}) {
		t.Errorf("VerifyKYC inputs = %+v", got)
	}
	cu := h.calls.inputs("CreateUser")
	if len(cu) != 1 {
		t.Fatalf("CreateUser inputs = %+v", cu)
	}
	gotCU := cu[0].(activities.CreateUserInput)
	wantCU := activities.CreateUserInput{
		RegistrationID: workflows.RegistrationID(in.Email), // the workflow id: the idempotency key of the insert
		Fingerprint:    in.Fingerprint,
		Email:          in.Email,
		FullName:       in.FullName,
		Phone:          in.Phone,
		PasswordHash:   in.PasswordHash,
		KYC:            in.KYC,
	}
	if !jsonEqual(t, gotCU, wantCU) {
		t.Errorf("CreateUser input = %+v, want %+v", gotCU, wantCU)
	}
	if !strings.HasPrefix(gotCU.PasswordHash, "$2a$") {
		t.Errorf("CreateUser got %q, want the bcrypt hash", gotCU.PasswordHash)
	}

	if got := h.calls.inputs("ProvisionAccount"); len(got) != 1 || got[0] != (activities.ProvisionAccountInput{UserID: user.ID}) {
		t.Errorf("ProvisionAccount inputs = %+v, want user id %s", got, user.ID)
	}

	if pe := h.calls.inputs("PublishEvent"); len(pe) != 1 {
		t.Fatalf("PublishEvent inputs = %+v", pe)
	}
	h.wantEvent(startTime, bank.Event{
		ID: "user_created/" + user.ID, Type: bank.EventUserCreated, UserID: user.ID, AccountNumber: wantAcc.AccountNumber,
	}, piiOf(in)...)
}

func TestRegistration_KYCNoMatch(t *testing.T) {
	h := newHarness(t, nil)
	h.verifyKYC = func(int, activities.VerifyKYCInput) error {
		return temporal.NewNonRetryableApplicationError("identity could not be verified", string(bank.CodeKYCFailed), nil)
	}
	h.createUser = func(int, activities.CreateUserInput) (activities.CreateUserResult, error) {
		return activities.CreateUserResult{}, unexpected("CreateUser")
	}
	h.provisionAccount = func(int, activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error) {
		return activities.ProvisionAccountResult{}, unexpected("ProvisionAccount")
	}
	h.publishEvent = func(int, bank.Event) error { return unexpected("PublishEvent") }

	h.run()
	h.refusal(bank.CodeKYCFailed)
	h.assertCalls("VerifyKYC") // a refusal is final: not retried
	h.assertNotCalled("CreateUser", "ProvisionAccount", "PublishEvent")
}

func TestRegistration_KYCProviderTimeoutIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.verifyKYC = func(n int, _ activities.VerifyKYCInput) error {
		if n <= 2 {
			// What activities.VerifyKYC returns when the registry client times out.
			return temporal.NewApplicationError("kyc registry timed out", string(bank.CodeKYCUnavailable))
		}
		return nil
	}

	h.run()
	res := h.result()
	if res.User.ID != testUser(h.in).ID || res.Nonce != h.in.Nonce {
		t.Errorf("result = %+v", res)
	}
	h.assertCalls("VerifyKYC", "VerifyKYC", "VerifyKYC", "CreateUser", "ProvisionAccount", "PublishEvent")
	h.env.AssertNumberOfCalls(t, "VerifyKYC", 3)
	// Temporal retried the same activity (attempts 1..3), not the workflow.
	if got := h.calls.attempts("VerifyKYC"); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("VerifyKYC attempts = %v, want [1 2 3]", got)
	}
}

func TestRegistration_CreateUserRefused(t *testing.T) {
	for _, code := range []bank.Code{bank.CodeEmailTaken, bank.CodeIdentityInUse} {
		t.Run(string(code), func(t *testing.T) {
			h := newHarness(t, nil)
			h.createUser = func(int, activities.CreateUserInput) (activities.CreateUserResult, error) {
				// What activities.CreateUser makes of the store's *bank.Error.
				return activities.CreateUserResult{}, temporal.NewNonRetryableApplicationError("already registered", string(code), nil)
			}
			h.provisionAccount = func(int, activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error) {
				return activities.ProvisionAccountResult{}, unexpected("ProvisionAccount")
			}
			h.publishEvent = func(int, bank.Event) error { return unexpected("PublishEvent") }

			h.run()
			h.refusal(code)
			h.assertCalls("VerifyKYC", "CreateUser")
			h.assertNotCalled("ProvisionAccount", "PublishEvent")
		})
	}
}

func TestRegistration_TransientProvisionErrorIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.provisionAccount = func(n int, in activities.ProvisionAccountInput) (activities.ProvisionAccountResult, error) {
		if n == 1 {
			return activities.ProvisionAccountResult{}, errors.New("conn reset by peer")
		}
		return activities.ProvisionAccountResult{Account: testAccount(in.UserID)}, nil
	}

	h.run()
	res := h.result()
	if res.Account.AccountNumber != testAccount("").AccountNumber || res.Account.OwnerID != testUser(h.in).ID {
		t.Errorf("result account = %+v", res.Account)
	}
	// Only the failed step is retried: the user is created once.
	h.assertCalls("VerifyKYC", "CreateUser", "ProvisionAccount", "ProvisionAccount", "PublishEvent")
	h.env.AssertNumberOfCalls(t, "ProvisionAccount", 2)
	if got := h.calls.inputs("ProvisionAccount"); got[0] != got[1] {
		t.Errorf("retry changed the input: %+v", got)
	}
}

// recorder keeps every payload the SDK encodes: the test environment's view
// of what would be written to history.
type recorder struct {
	converter.DataConverter
	mu       sync.Mutex
	payloads []*commonpb.Payload
}

func (r *recorder) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := r.DataConverter.ToPayload(v)
	if p != nil {
		r.mu.Lock()
		r.payloads = append(r.payloads, p)
		r.mu.Unlock()
	}
	return p, err
}

func (r *recorder) ToPayloads(vs ...any) (*commonpb.Payloads, error) {
	ps, err := r.DataConverter.ToPayloads(vs...)
	if ps != nil {
		r.mu.Lock()
		r.payloads = append(r.payloads, ps.GetPayloads()...)
		r.mu.Unlock()
	}
	return ps, err
}

// TestRegistration_WithCodecConverter runs both ends of the workflow through
// the production data converter: every type round-trips through the
// encrypting converter, and no PII is encoded unsealed.
func TestRegistration_WithCodecConverter(t *testing.T) {
	t.Run("verified", func(t *testing.T) {
		rec := &recorder{DataConverter: codec.NewDataConverter(codec.DevKeyring())}
		h := newHarness(t, rec)
		h.run()
		assertVerified(t, h, h.result())
		assertNoClearPII(t, rec, h.in)
	})
	t.Run("refused", func(t *testing.T) {
		rec := &recorder{DataConverter: codec.NewDataConverter(codec.DevKeyring())}
		h := newHarness(t, rec)
		h.createUser = func(int, activities.CreateUserInput) (activities.CreateUserResult, error) {
			return activities.CreateUserResult{}, temporal.NewNonRetryableApplicationError("taken", string(bank.CodeEmailTaken), nil)
		}
		h.run()
		h.refusal(bank.CodeEmailTaken) // the detail decodes through the codec too
		assertNoClearPII(t, rec, h.in)
	})
}

func assertNoClearPII(t *testing.T, rec *recorder, in workflows.RegistrationInput) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sealed := 0
	for _, p := range rec.payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncodingEncrypted {
			sealed++
			continue
		}
		for _, pii := range piiOf(in) {
			if strings.Contains(string(p.GetData()), pii) {
				t.Errorf("payload %s carries %q unsealed", p.GetData(), pii)
			}
		}
	}
	if sealed == 0 {
		t.Error("no payload was sealed: the codec converter was not used")
	}
}
