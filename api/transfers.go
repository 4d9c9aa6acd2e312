package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
	"github.com/bankcore/bank/internal/metrics"
	"github.com/bankcore/bank/workflows"
)

type transferRequest struct {
	Reference   string  `json:"reference"`
	FromAccount string  `json:"from_account"`
	ToAccount   string  `json:"to_account"`
	Amount      *string `json:"amount"`
	Currency    *string `json:"currency"`
	Narration   string  `json:"narration"`
}

type depositRequest struct {
	Reference string  `json:"reference"`
	Amount    *string `json:"amount"`
	Narration string  `json:"narration"`
}

type transferView struct {
	ID          string     `json:"id"`
	Reference   string     `json:"reference"`
	Status      string     `json:"status"`
	FromAccount string     `json:"from_account"`
	ToAccount   string     `json:"to_account"`
	Amount      string     `json:"amount"`
	Currency    string     `json:"currency"`
	Narration   string     `json:"narration"`
	FailureCode *string    `json:"failure_code"`
	CreatedAt   *time.Time `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

func viewTransfer(t bank.Transfer) transferView {
	v := transferView{
		ID: t.ID, Reference: t.Reference, Status: string(t.Status), FromAccount: t.FromAccount,
		ToAccount: t.ToAccount, Amount: t.Amount.String(), Currency: bank.Currency, Narration: t.Narration,
	}
	if t.FailureCode != "" {
		c := string(t.FailureCode)
		v.FailureCode = &c
	}
	if !t.CreatedAt.IsZero() {
		c := t.CreatedAt.UTC()
		v.CreatedAt = &c
	}
	if t.CompletedAt != nil {
		c := t.CompletedAt.UTC()
		v.CompletedAt = &c
	}
	return v
}

// idempotencyKey takes the key from the Idempotency-Key header or the body's
// reference; when both are given they must agree.
func idempotencyKey(r *http.Request, bodyRef string) (string, error) {
	header := r.Header.Get("Idempotency-Key")
	switch {
	case header != "" && bodyRef != "" && header != bodyRef:
		return "", bank.Invalid("reference", "differs from the Idempotency-Key header")
	case header != "":
		return header, bank.ValidateReference("Idempotency-Key", header)
	case bodyRef != "":
		return bodyRef, bank.ValidateReference("reference", bodyRef)
	}
	return "", bank.Invalid("reference", "an Idempotency-Key header or a reference is required")
}

func parseAmount(s *string) (bank.Money, error) {
	if s == nil {
		return 0, bank.Invalid("amount", "is required, as a decimal string such as \"1500.00\"")
	}
	return bank.ParsePositiveMoney(*s)
}

func validateNarration(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > bank.MaxNarrationRunes {
		return "", bank.Invalid("narration", "must be at most %d characters", bank.MaxNarrationRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", bank.Invalid("narration", "must not contain control or invisible characters")
		}
	}
	return s, nil
}

func validateAccountField(field, number string) error {
	if !bank.ValidAccountNumber(number) {
		return bank.Invalid(field, "must be a 10-digit account number")
	}
	return nil
}

// transfer handles POST /transfers.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	var body transferRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	req, err := s.transferFromBody(r, body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	look, err := s.d.Ledger.LookupTransfer(r.Context(), req.KeyOwner, req.Reference, req.FromAccount, req.ToAccount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Only the owner sends from an account; to anyone else it does not
	// exist, and another's account and a missing one get the very same
	// answer, so the answer never tells which account numbers exist.
	if look.From == nil || look.From.OwnerID != principal(r).UserID {
		writeError(w, r, &bank.Error{Code: bank.CodeNotFound, Field: "from_account", Message: "account not found"})
		return
	}
	if look.To == nil {
		writeError(w, r, &bank.Error{Code: bank.CodeNotFound, Field: "to_account", Message: "the receiving account does not exist"})
		return
	}
	s.postMoney(w, r, req, workflows.TransferID(req.KeyOwner, req.Reference), "", look.Stored)
}

func (s *Server) transferFromBody(r *http.Request, body transferRequest) (bank.TransferRequest, error) {
	ref, err := idempotencyKey(r, body.Reference)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	if err := validateAccountField("from_account", body.FromAccount); err != nil {
		return bank.TransferRequest{}, err
	}
	if err := validateAccountField("to_account", body.ToAccount); err != nil {
		return bank.TransferRequest{}, err
	}
	amount, err := parseAmount(body.Amount)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	if body.Currency != nil && *body.Currency != bank.Currency {
		return bank.TransferRequest{}, bank.Invalid("currency", "must be NGN")
	}
	narration, err := validateNarration(body.Narration)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	p := principal(r)
	return bank.TransferRequest{
		Kind: bank.KindTransfer, KeyOwner: p.UserID, Reference: ref, FromAccount: body.FromAccount,
		ToAccount: body.ToAccount, Amount: amount, Narration: narration, CreatedBy: p.UserID,
	}, nil
}

// deposit handles POST /accounts/{number}/deposits (operators only).
func (s *Server) deposit(w http.ResponseWriter, r *http.Request) {
	var body depositRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	ref, err := idempotencyKey(r, body.Reference)
	if err != nil {
		writeError(w, r, err)
		return
	}
	amount, err := parseAmount(body.Amount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	narration, err := validateNarration(body.Narration)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The funding account is the system's, never a customer's: only the
	// receiver and the key are looked up.
	look, err := s.d.Ledger.LookupTransfer(r.Context(), bank.SystemKeyOwner, ref, "", chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if look.To == nil {
		writeError(w, r, bank.Errorf(bank.CodeNotFound, "account not found"))
		return
	}
	req := bank.TransferRequest{
		Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: ref, FromAccount: s.d.SystemAccount,
		ToAccount: look.To.AccountNumber, Amount: amount, Narration: narration, CreatedBy: principal(r).UserID,
	}
	s.postMoney(w, r, req, workflows.DepositID(ref), workflows.DepositWorkflow, look.Stored)
}

// postMoney answers a transfer or deposit: from Postgres when the key is
// known (stored: a replay, without Temporal), else by running the workflow
// and waiting a few seconds for it.
func (s *Server) postMoney(w http.ResponseWriter, r *http.Request, req bank.TransferRequest, wfID, wfType string, stored *bank.Transfer) {
	ctx := r.Context()
	hash := req.Hash()
	outcome := metrics.OutcomeError
	defer func() { s.d.Metrics.Transfer(string(req.Kind), outcome) }()
	if stored != nil {
		outcome = metrics.OutcomeReplayed
		if !bytes.Equal(stored.RequestHash, hash) {
			outcome = string(bank.CodeIdempotencyReused)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		s.answerStored(w, r, *stored, hash, http.StatusOK)
		return
	}

	var workflow any = workflows.Transfer
	if wfType != "" {
		workflow = wfType
	}
	// Registered before the start, so a posting that commits before
	// ExecuteWorkflow returns is not missed.
	handed, stopWaiting := s.d.Outcomes.Wait(wfID)
	defer stopWaiting()
	run, err := s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                workflows.QueueTransfers,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// Postgres, not Temporal, is the lasting idempotency record: a run
		// that failed or that an operator terminated may run again under
		// its key, and PostTransfer answers from the stored row if money
		// moved. A completed run is never run twice.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		EnableEagerStart:      true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrReference.ValueSet(req.Reference),
			workflows.AttrFromAccount.ValueSet(req.FromAccount),
			workflows.AttrToAccount.ValueSet(req.ToAccount),
			workflows.AttrUserID.ValueSet(req.CreatedBy),
		),
	}, workflow, workflows.TransferInput{Request: req})
	if err != nil {
		writeError(w, r, unavailable(err))
		return
	}
	started := time.Now()
	handOff := func(o handoff.Outcome) {
		s.d.Metrics.TransferAnswer(metrics.AnswerHandOff)
		if o.Err != nil {
			code := bank.ErrorCode(o.Err)
			outcome = string(code)
			writeError(w, r, bank.Errorf(code, "%s", refusalMessage(code)))
			return
		}
		outcome = storedOutcome(o.Transfer, hash)
		s.answerStored(w, r, o.Transfer, hash, http.StatusCreated)
	}
	if o, ok := awaitHandOff(ctx, handed, min(handOffGrace, s.d.TransferWait)); ok {
		handOff(o)
		return
	}
	if ctx.Err() != nil {
		// The client is gone; the workflow goes on and the key answers a
		// retry from Postgres.
		outcome = metrics.OutcomePending
		return
	}
	// Not handed over within the grace (the workflow runs on another
	// worker, or this one is slow): ask the workflow, and still take the
	// hand-off if it comes first.
	var res workflows.TransferResult
	getCtx, cancelGet := context.WithCancel(ctx)
	defer cancelGet()
	got := make(chan error, 1)
	go func() { got <- await(getCtx, run, s.d.TransferWait-time.Since(started), &res) }()
	select {
	case o := <-handed:
		handOff(o)
		return
	case err = <-got:
	}
	s.d.Metrics.TransferAnswer(metrics.AnswerWorkflow)
	switch {
	case err == nil:
		outcome = storedOutcome(res.Transfer, hash)
		s.answerStored(w, r, res.Transfer, hash, http.StatusCreated)
	case errors.Is(err, errStillRunning):
		// Money may have moved while the event is late (a RabbitMQ outage):
		// the ledger, not the workflow, is the answer.
		if stored, err := s.d.Ledger.ByKey(ctx, req.KeyOwner, req.Reference); err == nil {
			outcome = storedOutcome(stored, hash)
			s.answerStored(w, r, stored, hash, http.StatusCreated)
			return
		}
		outcome = metrics.OutcomePending
		writeJSON(w, http.StatusAccepted, transferView{
			Reference: req.Reference, Status: string(bank.StatusPending), FromAccount: req.FromAccount,
			ToAccount: req.ToAccount, Amount: req.Amount.String(), Currency: bank.Currency, Narration: req.Narration,
		})
	default:
		var appErr *temporal.ApplicationError
		var refusal activities.TransferRefusal
		if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&refusal) == nil && refusal.Transfer.ID != "" {
			outcome = storedOutcome(refusal.Transfer, hash)
			s.answerStored(w, r, refusal.Transfer, hash, http.StatusCreated)
			return
		}
		if code := activities.CodeOf(err); code != "" {
			outcome = string(code)
			writeError(w, r, bank.Errorf(code, "%s", refusalMessage(code)))
			return
		}
		writeError(w, r, err)
	}
}

// handOffGrace is how long a handler waits for the hand-off alone before it
// also asks the workflow. An eagerly started transfer posts and publishes
// within milliseconds of the start returning; past this, asking costs the
// server a little, and a workflow that runs elsewhere answers no later
// than this after it completes.
const handOffGrace = 250 * time.Millisecond

// awaitHandOff waits up to grace for the posting's outcome from this
// process's worker. handed is nil where no worker runs here.
func awaitHandOff(ctx context.Context, handed <-chan handoff.Outcome, grace time.Duration) (handoff.Outcome, bool) {
	if handed == nil {
		return handoff.Outcome{}, false
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case o := <-handed:
		return o, true
	case <-t.C:
	case <-ctx.Done():
	}
	return handoff.Outcome{}, false
}

// answerStored writes a stored transfer: KEY_REUSED when the request differs
// from the one stored under the key, the refusal when it was refused, and
// the transfer with status otherwise.
func (s *Server) answerStored(w http.ResponseWriter, r *http.Request, t bank.Transfer, hash []byte, status int) {
	if !bytes.Equal(t.RequestHash, hash) {
		w.Header().Del("Idempotent-Replayed")
		writeError(w, r, bank.Errorf(bank.CodeIdempotencyReused, "%s", refusalMessage(bank.CodeIdempotencyReused)))
		return
	}
	if t.Status == bank.StatusFailed {
		writeError(w, r, bank.Errorf(t.FailureCode, "%s", refusalMessage(t.FailureCode)))
		return
	}
	writeJSON(w, status, viewTransfer(t))
}

// storedOutcome is the metrics outcome of answering t to a request with
// hash: what answerStored will say.
func storedOutcome(t bank.Transfer, hash []byte) string {
	switch {
	case !bytes.Equal(t.RequestHash, hash):
		return string(bank.CodeIdempotencyReused)
	case t.Status == bank.StatusFailed:
		return string(t.FailureCode)
	}
	return string(t.Status)
}

func refusalMessage(code bank.Code) string {
	switch code {
	case bank.CodeSameAccount:
		return "the sending and receiving accounts are the same"
	case bank.CodeSingleLimit:
		return "the amount exceeds the sending account's single transaction limit"
	case bank.CodeDailyLimit:
		return "the transfer would take the sending account's debits of the day above its daily limit"
	case bank.CodeInsufficientFunds:
		return "the sending account's balance is too low"
	case bank.CodeReceiverLimit:
		return "the credit would lift the receiving account above its maximum balance"
	case bank.CodeIdempotencyReused:
		return "this reference was already used for a different request; use a new reference"
	case bank.CodeNotFound:
		return "account not found"
	}
	return "the transfer was refused"
}

// transferByReference handles GET /transfers/{reference}: the caller's own.
func (s *Server) transferByReference(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "reference")
	if bank.ValidateReference("reference", ref) != nil {
		// No transfer has such a key; and Postgres refuses some such
		// strings (a NUL) outright, which is no reason for a 500.
		writeError(w, r, bank.Errorf(bank.CodeNotFound, "transfer not found"))
		return
	}
	t, err := s.d.Ledger.ByKey(r.Context(), principal(r).UserID, ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTransfer(t))
}

type entryView struct {
	ID                  string    `json:"id"`
	Kind                string    `json:"kind"`
	TransferReference   string    `json:"transfer_reference"`
	Direction           string    `json:"direction"`
	Amount              string    `json:"amount"`
	BalanceAfter        string    `json:"balance_after"`
	CounterpartyAccount string    `json:"counterparty_account"`
	Narration           string    `json:"narration"`
	CreatedAt           time.Time `json:"created_at"`
}

// viewEntry is a history item, as history pages and statements show it.
func viewEntry(e bank.Entry) entryView {
	return entryView{
		ID: strconv.FormatInt(e.ID, 10), Kind: e.Kind.HistoryKind(), TransferReference: e.TransferReference,
		Direction: e.Direction, Amount: e.Amount.String(), BalanceAfter: e.BalanceAfter.String(),
		CounterpartyAccount: e.CounterpartyAccount, Narration: e.Narration, CreatedAt: e.CreatedAt.UTC(),
	}
}

// MaxPageSize caps list pages.
const MaxPageSize = 100

// transactions handles GET /accounts/{number}/transactions, newest first.
func (s *Server) transactions(w http.ResponseWriter, r *http.Request) {
	a, err := s.ownedAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeError(w, r, bank.Invalid("limit", "must be a whole number from 1 to %d", MaxPageSize))
			return
		}
		limit = n
	}
	var before int64
	if v := r.URL.Query().Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || perr != nil || n <= 0 {
			writeError(w, r, bank.Invalid("cursor", "is not a cursor this API returned"))
			return
		}
		before = n
	}
	entries, next, err := s.d.Ledger.Entries(r.Context(), a.AccountNumber, limit, before)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items := make([]entryView, 0, len(entries))
	for _, e := range entries {
		items = append(items, viewEntry(e))
	}
	var cursor *string
	if next != 0 {
		c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
		cursor = &c
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": cursor})
}

// ownedCustomerAccount is ownedAccount without the operator's view: only
// the owner may send from an account.
func (s *Server) ownedCustomerAccount(r *http.Request, number string) (bank.Account, error) {
	// Another's account and a missing one get the very same answer, so the
	// answer never tells which account numbers exist.
	notFound := &bank.Error{Code: bank.CodeNotFound, Field: "from_account", Message: "account not found"}
	a, err := s.d.Accounts.ByNumber(r.Context(), number)
	if bank.ErrorCode(err) == bank.CodeNotFound {
		return bank.Account{}, notFound
	}
	if err != nil {
		return bank.Account{}, err
	}
	if a.OwnerID != principal(r).UserID {
		return bank.Account{}, notFound
	}
	return a, nil
}
