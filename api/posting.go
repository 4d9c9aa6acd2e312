package api

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/metrics"
	"github.com/bankcore/bank/workflows"
)

// Every movement of money (transfers, deposits) goes the same way through
// the edge: postMoney decodes and checks the request and both ends, then
// answers it from what its key holds, or starts its workflow and waits for
// the answer the workflow gives.

// Answers carries a workflow's answer to the handler that started it when
// the workflow runs on this process's worker (eager start runs it here in
// `bank all` and `bank serve api,worker`); the workflow decides when it
// answers. Wait registers before the start, so an answer given before
// ExecuteWorkflow returns is not missed; a nil channel means nothing will
// come. stop must be called when the handler stops waiting.
type Answers interface {
	Wait(workflowID string) (answer <-chan bank.Answer, stop func())
}

// handOffGrace is how long a handler waits for the in-process answer alone
// before it also asks the workflow, and then how often it reads the row
// stored under the key while the workflow is still running. An eagerly
// started transfer answers within milliseconds of the start returning; past
// this, asking costs the server a little, and a workflow that runs
// elsewhere is answered no later than this after it completes, or after its
// posting committed while it goes on running.
const handOffGrace = 250 * time.Millisecond

// postMoney is the handler of a movement of money whose body is a T, which
// parse makes a request of.
func postMoney[T any](s *Server, parse func(*http.Request, T) (bank.TransferRequest, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body T
		if err := decodeJSON(w, r, &body); err != nil {
			writeError(w, r, err)
			return
		}
		req, err := parse(r, body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		s.post(w, r, req)
	}
}

// post answers req: after checking both ends, from what its key already
// holds (a replay, answered from Postgres without Temporal), else by running
// its workflow.
func (s *Server) post(w http.ResponseWriter, r *http.Request, req bank.TransferRequest) {
	// Both accounts and the key in one round trip. The funding account is
	// the system's, never a customer's: a deposit looks up the receiver only.
	from := req.FromAccount
	if req.Kind == bank.KindDeposit {
		from = ""
	}
	look, err := s.d.Ledger.LookupTransfer(r.Context(), req.KeyOwner, req.Reference, from, req.ToAccount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The posting checks both ends again under the row locks; here they
	// spare a workflow for what cannot go through.
	if req.Kind == bank.KindTransfer {
		err = bank.CheckSender(req, partyOf(look.From))
	}
	if err == nil {
		err = bank.CheckReceiver(req, partyOf(look.To))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	hash := req.Hash()
	if look.Stored != nil {
		s.answer(w, r, req.Kind, bank.AnswerFor(*look.Stored, hash), true)
		return
	}
	a, ok, err := s.runPosting(r.Context(), req)
	switch {
	case err != nil:
		s.d.Metrics.Transfer(string(req.Kind), metrics.OutcomeError)
		writeError(w, r, err)
	case !ok:
		// Not finished within the wait (a slow posting, a workflow that
		// cannot run), or the client left: the workflow goes on, and the key
		// answers a retry.
		s.d.Metrics.Transfer(string(req.Kind), metrics.OutcomePending)
		writeJSON(w, http.StatusAccepted, transferView{
			Reference: req.Reference, Status: string(bank.StatusPending), FromAccount: req.FromAccount,
			ToAccount: req.ToAccount, Amount: req.Amount.String(), Currency: bank.Currency, Narration: req.Narration,
		})
	default:
		// Concurrent requests with one key share the workflow; one with
		// another body learns the key was reused.
		s.answer(w, r, req.Kind, a.For(hash), false)
	}
}

// answer writes what the caller of a transfer or deposit is told, and
// counts it: a refusal as its problem, the transfer with 201 (200 for a
// replay). A replay says Idempotent-Replayed, except to a request that
// reused the key with another body: that is no repetition of an answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, kind bank.TransferKind, a bank.Answer, replayed bool) {
	outcome := string(a.Transfer.Status)
	switch {
	case a.Refusal == bank.CodeIdempotencyReused:
		outcome = string(a.Refusal)
	case replayed:
		outcome = metrics.OutcomeReplayed
		w.Header().Set("Idempotent-Replayed", "true")
	case a.Refusal != "":
		outcome = string(a.Refusal)
	}
	s.d.Metrics.Transfer(string(kind), outcome)
	if a.Refusal != "" {
		writeError(w, r, refusal(a.Refusal))
		return
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	writeJSON(w, status, viewTransfer(a.Transfer))
}

// runPosting starts req's workflow and waits up to TransferWait for its
// answer. ok is false when none came in time or the client left.
func (s *Server) runPosting(ctx context.Context, req bank.TransferRequest) (_ bank.Answer, ok bool, _ error) {
	opts, workflowType := workflows.StartTransfer(req)
	var inProcess <-chan bank.Answer
	if s.d.Answers != nil {
		var stop func()
		inProcess, stop = s.d.Answers.Wait(opts.ID) // before the start: see Answers
		defer stop()
	}
	run, err := s.d.Temporal.ExecuteWorkflow(ctx, opts, workflowType, workflows.TransferInput{Request: req})
	if err != nil {
		return bank.Answer{}, false, unavailable(err)
	}
	a, source, err := awaitAnswer(ctx, answerSources{
		inProcess: inProcess,
		result: func(ctx context.Context) (bank.Answer, bool, error) {
			var res workflows.TransferResult
			err := run.Get(ctx, &res)
			a, ok := workflows.AnswerOf(res, err)
			return a, ok, err
		},
		stored: func(ctx context.Context) (bank.Answer, bool) {
			t, err := s.d.Ledger.ByKey(ctx, req.KeyOwner, req.Reference)
			if err != nil {
				return bank.Answer{}, false // not posted yet, or Postgres is away: wait on
			}
			return bank.AnswerFor(t, t.RequestHash), true
		},
		grace: min(handOffGrace, s.d.TransferWait),
		wait:  s.d.TransferWait,
	})
	if source != "" {
		s.d.Metrics.TransferAnswer(source)
	}
	return a, source != "", err
}

// answerSources are where a started workflow's answer may come from.
type answerSources struct {
	// inProcess is this process's worker's answer (nil: none will come).
	inProcess <-chan bank.Answer
	// result waits for the workflow to end and reads its answer; ok is
	// false when it ended otherwise (terminated, Temporal unreachable).
	result func(ctx context.Context) (a bank.Answer, ok bool, err error)
	// stored reads the answer from the row under the key, if there is one.
	stored func(ctx context.Context) (bank.Answer, bool)
	// grace is how long the in-process answer is waited for alone, and how
	// often the row is read after it; wait bounds the whole.
	grace, wait time.Duration
}

// awaitAnswer takes the first answer that comes: the in-process one as
// soon as the workflow gives it; after the grace (at once when none can
// come in-process) the workflow's result, or, while the workflow still
// runs, the row stored under the key, read every grace; at the end of the
// wait the row once more. It returns the answer's source (a metrics.Answer
// constant), "" when none came in time or the client left.
func awaitAnswer(ctx context.Context, src answerSources) (bank.Answer, string, error) {
	deadline := time.NewTimer(src.wait)
	defer deadline.Stop()
	askCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	type ended struct {
		a   bank.Answer
		ok  bool
		err error
	}
	var (
		results chan ended
		reads   <-chan time.Time
		graceC  <-chan time.Time
	)
	ask := func() {
		results = make(chan ended, 1)
		go func() {
			a, ok, err := src.result(askCtx)
			results <- ended{a, ok, err}
		}()
		t := time.NewTicker(src.grace)
		context.AfterFunc(askCtx, t.Stop)
		reads = t.C
	}
	if src.inProcess == nil {
		ask()
	} else {
		g := time.NewTimer(src.grace)
		defer g.Stop()
		graceC = g.C
	}
	for {
		select {
		case a := <-src.inProcess:
			return a, metrics.AnswerHandOff, nil
		case <-graceC:
			graceC = nil
			ask()
		case e := <-results:
			switch {
			case e.ok:
				return e.a, metrics.AnswerWorkflow, nil
			case ctx.Err() != nil:
				return bank.Answer{}, "", nil // the client left
			case stillRunning(e.err):
				// The server's long poll gave up first: the row and the
				// deadline decide.
				results = nil
				continue
			}
			// The workflow ended without an answer (an operator terminated
			// it, say); what it stored, if anything, still answers.
			if a, ok := src.stored(ctx); ok {
				return a, metrics.AnswerLedger, nil
			}
			return bank.Answer{}, "", unavailable(e.err)
		case <-reads:
			if a, ok := src.stored(ctx); ok {
				return a, metrics.AnswerLedger, nil
			}
		case <-deadline.C:
			if a, ok := src.stored(ctx); ok {
				return a, metrics.AnswerLedger, nil
			}
			return bank.Answer{}, "", nil
		case <-ctx.Done():
			return bank.Answer{}, "", nil
		}
	}
}

// Request fields every movement of money shares.

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

// partyOf is a looked-up account as the rules see it (nil: none).
func partyOf(a *bank.Account) *bank.Party {
	if a == nil {
		return nil
	}
	p := a.Party()
	return &p
}
