package bank

import "bytes"

// KeyUse is what a request finds under its idempotency key.
type KeyUse int

// What a key holds for a request.
const (
	// KeyFree: nothing is stored under the key; the request is new.
	KeyFree KeyUse = iota
	// KeyReplay: the same request was accepted; it is answered with the
	// transfer as it is now and moves no money.
	KeyReplay
	// KeyRefused: the same request was refused; the refusal sticks to the
	// key and is answered again.
	KeyRefused
	// KeyReused: another request (another hash) holds the key:
	// IDEMPOTENCY_KEY_REUSED.
	KeyReused
)

// UseOfKey is the one rule of idempotency: what a request whose canonical
// form hashes to hash (TransferRequest.Hash) finds under its key, where
// stored is the transfer stored there (nil when none is). The API's
// pre-read and the posting both decide by it.
func UseOfKey(stored *Transfer, hash []byte) KeyUse {
	switch {
	case stored == nil:
		return KeyFree
	case !bytes.Equal(stored.RequestHash, hash):
		return KeyReused
	case stored.Status == StatusFailed:
		return KeyRefused
	}
	return KeyReplay
}

// Answer is what the caller of a transfer or deposit is told: the transfer
// when Refusal is "", else a refusal with that code (and, when it was
// stored, the refused transfer). Whether it is a first answer or a replay,
// and how it looks on the wire, is the transport's business.
type Answer struct {
	Transfer Transfer
	Refusal  Code
}

// AnswerFor is the one mapping from a stored transfer to what a request
// with hash is told: IDEMPOTENCY_KEY_REUSED when another request stored
// it, its refusal when it was refused, the transfer otherwise. Replays, the
// workflow's answer and the stored row all go through it.
func AnswerFor(stored Transfer, hash []byte) Answer {
	switch UseOfKey(&stored, hash) {
	case KeyReused:
		return Answer{Refusal: CodeIdempotencyReused}
	case KeyRefused:
		return Answer{Transfer: stored, Refusal: stored.FailureCode}
	}
	return Answer{Transfer: stored}
}

// For is a as told to a request with hash: a transfer another request
// stored is IDEMPOTENCY_KEY_REUSED to it (concurrent requests with one key
// share a workflow, whatever their bodies). An answer without a transfer (a
// final error that stored nothing) is the same for everyone.
func (a Answer) For(hash []byte) Answer {
	if a.Transfer.ID == "" {
		return a
	}
	return AnswerFor(a.Transfer, hash)
}

// TransferLookup is what the edge reads before it starts a transfer or a
// deposit, in one round trip: both accounts (nil when there is no such
// customer account) and the transfer already stored under the key (nil
// when the key is free).
type TransferLookup struct {
	From, To *Account
	Stored   *Transfer
}
