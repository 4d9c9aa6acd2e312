// Package workflows holds the deterministic workflow code, the task-queue
// names, workflow ids and search attributes of the contract.
//
// Registration (task queue "registration", id registration/<sha256(email)>):
//
//	VerifyKYC (registration) → CreateUser (registration)
//	  → ProvisionAccount (accounts) → PublishEvent(user_created) (notifications)
//
// Business refusals (KYC_FAILED, EMAIL_TAKEN, IDENTITY_IN_USE) fail the
// workflow with a non-retryable application error whose type is the code;
// the id reuse policy allows a new run only after a failed one, so a
// completed registration is never run twice.
package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/bank"
)

// Task queues.
const (
	QueueRegistration = "registration"
	QueueAccounts     = "accounts"
	QueueTransfers    = "transfers"
	QueueNotify       = "notifications"
)

// Search attributes (Keyword) that operators use in the Web UI.
var (
	AttrReference   = temporal.NewSearchAttributeKeyKeyword("BankReference")
	AttrFromAccount = temporal.NewSearchAttributeKeyKeyword("BankFromAccount")
	AttrToAccount   = temporal.NewSearchAttributeKeyKeyword("BankToAccount")
	AttrUserID      = temporal.NewSearchAttributeKeyKeyword("BankUserID")
)

// SearchAttributes names every custom search attribute, for registration
// with the server.
var SearchAttributes = []string{
	AttrReference.GetName(), AttrFromAccount.GetName(), AttrToAccount.GetName(), AttrUserID.GetName(),
}

// RegistrationID is the workflow id of the registration of email.
func RegistrationID(email string) string {
	return "registration/" + bank.EmailDigest(email)
}
