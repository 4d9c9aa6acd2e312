package bank

import (
	"errors"
	"slices"
	"testing"
)

func TestUseOfKeyAndAnswerFor(t *testing.T) {
	req := TransferRequest{Kind: KindTransfer, KeyOwner: "u1", Reference: "k", FromAccount: "1", ToAccount: "2", Amount: 10_00}
	other := req
	other.Amount = 11_00
	completed := Transfer{ID: "t1", Reference: "k", RequestHash: req.Hash(), Status: StatusCompleted}
	refused := Transfer{ID: "t2", Reference: "k", RequestHash: req.Hash(), Status: StatusFailed, FailureCode: CodeInsufficientFunds}

	cases := []struct {
		name   string
		stored *Transfer
		hash   []byte
		use    KeyUse
		answer Answer // for a stored transfer
	}{
		{"free key", nil, req.Hash(), KeyFree, Answer{}},
		{"same request, accepted", &completed, req.Hash(), KeyReplay, Answer{Transfer: completed}},
		{"same request, refused", &refused, req.Hash(), KeyRefused, Answer{Transfer: refused, Refusal: CodeInsufficientFunds}},
		// Another body under a taken key is a reuse, whatever the first
		// request came to, and tells nothing about it.
		{"another request, accepted", &completed, other.Hash(), KeyReused, Answer{Refusal: CodeIdempotencyReused}},
		{"another request, refused", &refused, other.Hash(), KeyReused, Answer{Refusal: CodeIdempotencyReused}},
		{"no hash", &completed, nil, KeyReused, Answer{Refusal: CodeIdempotencyReused}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := UseOfKey(c.stored, c.hash); got != c.use {
				t.Errorf("UseOfKey = %v, want %v", got, c.use)
			}
			if c.stored == nil {
				return
			}
			if got := AnswerFor(*c.stored, c.hash); got.Refusal != c.answer.Refusal || got.Transfer.ID != c.answer.Transfer.ID {
				t.Errorf("AnswerFor = %+v, want %+v", got, c.answer)
			}
		})
	}
}

func TestAnswerToAnotherRequest(t *testing.T) {
	req := TransferRequest{Kind: KindTransfer, KeyOwner: "u1", Reference: "k", FromAccount: "1", ToAccount: "2", Amount: 10_00}
	other := req
	other.Narration = "another body"
	completed := Transfer{ID: "t1", RequestHash: req.Hash(), Status: StatusCompleted}

	// The workflow's answer is its own request's; a concurrent request
	// with another body that joined the same workflow is told of a reuse.
	a := AnswerFor(completed, req.Hash())
	if got := a.For(req.Hash()); got.Refusal != "" || got.Transfer.ID != "t1" {
		t.Errorf("For(same hash) = %+v", got)
	}
	if got := a.For(other.Hash()); got.Refusal != CodeIdempotencyReused || got.Transfer.ID != "" {
		t.Errorf("For(other hash) = %+v, want IDEMPOTENCY_KEY_REUSED without the transfer", got)
	}
	// A final error that stored nothing is the same for every request.
	notFound := Answer{Refusal: CodeNotFound}
	if got := notFound.For(other.Hash()); got.Refusal != CodeNotFound || got.Transfer.ID != "" {
		t.Errorf("For on an answer without a transfer = %+v", got)
	}
}

func TestCheckSenderAndReceiver(t *testing.T) {
	owner := "3b0e6a2c-51f4-4f0a-9d7e-0c1f5a9b7e21"
	mine := &Party{ID: 1, OwnerID: owner, Tier: Tier1}
	theirs := &Party{ID: 2, OwnerID: "9c4d2e1f-7a3b-4c8d-8e5f-1a2b3c4d5e6f", Tier: Tier1}
	system := &Party{ID: 3, System: true, Tier: Tier3}
	transfer := TransferRequest{Kind: KindTransfer, KeyOwner: owner}
	deposit := TransferRequest{Kind: KindDeposit, KeyOwner: SystemKeyOwner}

	// Only the owner sends, and another's account looks exactly like none.
	if err := CheckSender(transfer, mine); err != nil {
		t.Errorf("own account: %v", err)
	}
	var missing, another, fromSystem *Error
	for _, c := range []struct {
		from *Party
		dst  **Error
	}{{nil, &missing}, {theirs, &another}, {system, &fromSystem}} {
		err := CheckSender(transfer, c.from)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeNotFound || e.Field != "from_account" {
			t.Fatalf("CheckSender(%+v) = %v, want NOT_FOUND on from_account", c.from, err)
		}
		*c.dst = e
	}
	if *missing != *another || *missing != *fromSystem {
		t.Errorf("a missing, another's and the system account answer differently: %v / %v / %v", missing, another, fromSystem)
	}
	if err := CheckSender(deposit, system); err != nil {
		t.Errorf("deposit from the funding account: %v", err)
	}
	if err := CheckSender(deposit, mine); err == nil || ErrorCode(err) != CodeInternal {
		t.Errorf("deposit from a customer account = %v, want an internal error", err)
	}

	// Money goes to customer accounts only.
	for _, req := range []TransferRequest{transfer, deposit} {
		if err := CheckReceiver(req, theirs); err != nil {
			t.Errorf("%s to a customer: %v", req.Kind, err)
		}
		for _, to := range []*Party{nil, system} {
			if err := CheckReceiver(req, to); ErrorCode(err) != CodeNotFound {
				t.Errorf("%s to %+v = %v, want NOT_FOUND", req.Kind, to, err)
			}
		}
	}
	if e := (*Error)(nil); !errors.As(CheckReceiver(transfer, nil), &e) || e.Field != "to_account" {
		t.Errorf("a transfer's unknown receiver names no field: %v", e)
	}
}

func TestFinalCodes(t *testing.T) {
	for _, c := range FinalCodes() {
		if !c.Final() {
			t.Errorf("%s listed but not final", c)
		}
	}
	// Refusals of a posting, and what a request can never change, are final;
	// what a retry may fix is not.
	for _, c := range []Code{CodeInsufficientFunds, CodeSingleLimit, CodeReceiverLimit, CodeSameAccount,
		CodeIdempotencyReused, CodeNotFound, CodeValidation, CodeKYCFailed, CodeEmailTaken, CodeIdentityInUse, CodeTierNotHigher} {
		if !c.Final() {
			t.Errorf("%s is not final", c)
		}
	}
	for _, c := range []Code{CodeKYCUnavailable, CodeUnavailable, CodeInternal, CodeRateLimited, ""} {
		if c.Final() {
			t.Errorf("%q is final: a retry could change it", c)
		}
	}
}

func TestFinalCodesSorted(t *testing.T) {
	if codes := FinalCodes(); !slices.IsSorted(codes) {
		t.Errorf("FinalCodes = %v, want them sorted (workflows record them in retry policies)", codes)
	}
}
