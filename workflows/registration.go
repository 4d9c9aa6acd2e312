package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
)

// RegistrationInput is validated, normalised input with the password already
// hashed. PII, so encrypted in history.
type RegistrationInput struct {
	// Nonce is random per HTTP request; the result echoes it so a caller
	// can tell its own run from one it attached to.
	Nonce        string
	Email        string
	FullName     string
	Phone        string
	PasswordHash string
	KYC          bank.KYC
	Fingerprint  []byte
}

// SensitivePayload marks the payload for encryption.
func (RegistrationInput) SensitivePayload() {}

// RegistrationResult is the created user and account. PII, so encrypted.
type RegistrationResult struct {
	Nonce       string
	Fingerprint []byte
	User        bank.User
	Account     bank.Account
}

// SensitivePayload marks the payload for encryption.
func (RegistrationResult) SensitivePayload() {}

// RegistrationFailure is the detail attached to a refused registration.
type RegistrationFailure struct {
	Nonce string
}

// Activity references: typed nils, never called.
var (
	regActs *activities.Registration
	accActs *activities.Accounts
	evtActs *activities.Events
)

func activityOptions(queue string, timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        100 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: nonRetryable(),
		},
	}
}

// Registration verifies the customer's identity, creates the user and the
// default account, and announces the new user.
func Registration(ctx workflow.Context, in RegistrationInput) (RegistrationResult, error) {
	fail := func(err error) (RegistrationResult, error) {
		if code := CodeOf(err); code != "" {
			// Re-wrap so the failure carries the caller's nonce, and only a
			// caller-safe message.
			return RegistrationResult{}, temporal.NewNonRetryableApplicationError(
				"registration refused: "+string(code), string(code), nil, RegistrationFailure{Nonce: in.Nonce})
		}
		return RegistrationResult{}, err
	}

	// The KYC client times out on its own (KYC_TIMEOUT); this bound only
	// catches a stuck worker.
	kycCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueRegistration, 30*time.Second))
	if err := workflow.ExecuteActivity(kycCtx, regActs.VerifyKYC, activities.VerifyKYCInput{KYC: in.KYC}).Get(ctx, nil); err != nil {
		return fail(err)
	}

	var created activities.CreateUserResult
	dbCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueRegistration, 10*time.Second))
	err := workflow.ExecuteActivity(dbCtx, regActs.CreateUser, activities.CreateUserInput{
		RegistrationID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Fingerprint:    in.Fingerprint,
		Email:          in.Email,
		FullName:       in.FullName,
		Phone:          in.Phone,
		PasswordHash:   in.PasswordHash,
		KYC:            in.KYC,
	}).Get(ctx, &created)
	if err != nil {
		return fail(err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrUserID.ValueSet(created.User.ID)); err != nil {
		return fail(err)
	}

	var provisioned activities.ProvisionAccountResult
	accCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueAccounts, 10*time.Second))
	err = workflow.ExecuteActivity(accCtx, accActs.ProvisionAccount,
		activities.ProvisionAccountInput{UserID: created.User.ID}).Get(ctx, &provisioned)
	if err != nil {
		return fail(err)
	}

	ev := bank.Event{
		ID:            "user_created/" + created.User.ID,
		Type:          bank.EventUserCreated,
		OccurredAt:    workflow.Now(ctx).UTC(),
		UserID:        created.User.ID,
		AccountNumber: provisioned.Account.AccountNumber,
	}
	evCtx := workflow.WithActivityOptions(ctx, activityOptions(QueueNotify, 10*time.Second))
	if err := workflow.ExecuteActivity(evCtx, evtActs.PublishEvent, ev).Get(ctx, nil); err != nil {
		return fail(err)
	}

	return RegistrationResult{
		Nonce:       in.Nonce,
		Fingerprint: in.Fingerprint,
		User:        created.User,
		Account:     provisioned.Account,
	}, nil
}
