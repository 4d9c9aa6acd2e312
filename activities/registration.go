package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// KYCVerifier checks identity evidence. Errors: KYC_FAILED (final),
// VALIDATION_FAILED (final), KYC_UNAVAILABLE (the registry timed out);
// anything else is retryable.
type KYCVerifier interface {
	Verify(ctx context.Context, k bank.KYC) error
}

// UserStore creates customers. Errors: EMAIL_TAKEN, IDENTITY_IN_USE.
type UserStore interface {
	CreateCustomer(ctx context.Context, in bank.NewCustomer) (bank.User, error)
}

// Registration holds the registration queue's activities.
type Registration struct {
	KYC         KYCVerifier
	Users       UserStore
	Evidence    EvidenceStore
	IdentityKey []byte
}

// VerifyKYCInput carries a KYC number: encrypted in history.
type VerifyKYCInput struct {
	KYC bank.KYC
}

// SensitivePayload marks the payload for encryption (codec.Sensitive).
func (VerifyKYCInput) SensitivePayload() {}

// VerifyKYC asks the registry; a timeout (KYC_UNAVAILABLE) is retried by
// Temporal.
func (a *Registration) VerifyKYC(ctx context.Context, in VerifyKYCInput) error {
	return asActivityError(a.KYC.Verify(ctx, in.KYC))
}

// CreateUserInput is the user to create; PII, so encrypted in history. The
// password arrives already hashed: the plain password never enters Temporal.
type CreateUserInput struct {
	RegistrationID string
	Fingerprint    []byte
	Email          string
	FullName       string
	Phone          string
	PasswordHash   string
	KYC            bank.KYC
}

// SensitivePayload marks the payload for encryption.
func (CreateUserInput) SensitivePayload() {}

// CreateUserResult is the created user; PII, so encrypted in history.
type CreateUserResult struct {
	User bank.User
}

// SensitivePayload marks the payload for encryption.
func (CreateUserResult) SensitivePayload() {}

// CreateUser creates the user and claims the identity, idempotently by
// registration id.
func (a *Registration) CreateUser(ctx context.Context, in CreateUserInput) (CreateUserResult, error) {
	u, err := a.Users.CreateCustomer(ctx, bank.NewCustomer{
		RegistrationID: in.RegistrationID,
		Fingerprint:    in.Fingerprint,
		Email:          in.Email,
		FullName:       in.FullName,
		Phone:          in.Phone,
		PasswordHash:   in.PasswordHash,
		KYCType:        in.KYC.Type,
		KYCNumberHMAC:  bank.KYCDigest(a.IdentityKey, in.KYC),
	})
	return CreateUserResult{User: u}, asActivityError(err)
}

// EvidenceStore records verified evidence when it suffices for the target
// tier. Errors: IDENTITY_IN_USE, KYC_FAILED.
type EvidenceStore interface {
	ClaimEvidence(ctx context.Context, userID string, target bank.Tier, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error)
}

// ClaimEvidenceInput carries a KYC number: encrypted in history.
type ClaimEvidenceInput struct {
	UserID string
	Tier   bank.Tier // the tier the evidence is for
	KYC    bank.KYC
}

// SensitivePayload marks the payload for encryption.
func (ClaimEvidenceInput) SensitivePayload() {}

// ClaimEvidenceResult lists the evidence types the user holds.
type ClaimEvidenceResult struct {
	OnFile []bank.KYCType
}

// ClaimEvidence records verified evidence for the user (idempotent: the
// user's own evidence is claimed again without error).
func (a *Registration) ClaimEvidence(ctx context.Context, in ClaimEvidenceInput) (ClaimEvidenceResult, error) {
	k, err := bank.NormalizeKYC(in.KYC)
	if err != nil {
		return ClaimEvidenceResult{}, asActivityError(err)
	}
	types, err := a.Evidence.ClaimEvidence(ctx, in.UserID, in.Tier, k.Type, bank.KYCDigest(a.IdentityKey, k))
	return ClaimEvidenceResult{OnFile: types}, asActivityError(err)
}
