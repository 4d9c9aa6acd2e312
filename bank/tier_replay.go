package bank

import "bytes"

// TierRequestHash identifies the canonical body of a tier upgrade (account,
// target tier, evidence) under its Idempotency-Key. It is keyed with
// IDENTITY_KEY, because it covers the KYC number: the stored hash reveals no
// number to someone without the key.
func TierRequestHash(identityKey []byte, accountNumber string, target Tier, k KYC) []byte {
	return keyed(identityKey, "tier-request", accountNumber, string(target), string(k.Type), k.Number)
}

// TierOutcome is what is stored under an upgrade's request id once the
// upgrade is decided under the account's lock: the request's hash and, for
// a refusal, its code ("" when the upgrade was made).
type TierOutcome struct {
	RequestHash []byte
	Refusal     Code
}

// TierDecision is what a request gets given what its key holds.
type TierDecision int

// The decisions, as for transfers (CONTRACT.md, POST /transfers).
const (
	// TierNew: nothing is stored under the key; run the upgrade.
	TierNew TierDecision = iota
	// TierReplay: the same request made the upgrade; answer the account
	// again, marked Idempotent-Replayed.
	TierReplay
	// TierReplayRefusal: the same request was refused; answer the same
	// refusal again, marked Idempotent-Replayed.
	TierReplayRefusal
	// TierKeyReused: another request used the key; 422
	// IDEMPOTENCY_KEY_REUSED.
	TierKeyReused
)

// DecideTierRequest decides a keyed upgrade request with hash from the
// outcome stored under its key (nil when there is none).
//
// It has the shape of the transfers' rule (a stored outcome, the request's
// hash → new, replay, replayed refusal or key reused); the two can meet in
// one decision over (stored hash, stored refusal) once transfers expose
// theirs that way.
func DecideTierRequest(stored *TierOutcome, hash []byte) TierDecision {
	switch {
	case stored == nil:
		return TierNew
	case !bytes.Equal(stored.RequestHash, hash):
		return TierKeyReused
	case stored.Refusal != "":
		return TierReplayRefusal
	}
	return TierReplay
}
