package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
	"github.com/bankcore/bank/workflows"
)

type registerRequest struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	FullName string   `json:"full_name"`
	Phone    string   `json:"phone"`
	KYC      bank.KYC `json:"kyc"`
}

type registrationStatus struct {
	RegistrationID string       `json:"registration_id"`
	Status         string       `json:"status"`
	User           *userView    `json:"user"`
	Account        *accountView `json:"account"`
	Error          *Problem     `json:"error"`
}

// validate normalises the request; the first invalid field is reported.
func (req *registerRequest) validate() error {
	var err error
	if req.Email, err = bank.NormalizeEmail(req.Email); err != nil {
		return err
	}
	if err = bank.ValidatePassword(req.Password); err != nil {
		return err
	}
	if req.FullName, err = bank.NormalizeFullName(req.FullName); err != nil {
		return err
	}
	if req.Phone, err = bank.NormalizePhone(req.Phone); err != nil {
		return err
	}
	req.KYC, err = bank.NormalizeKYC(req.KYC)
	return err
}

// register runs the Registration workflow and waits a few seconds for it.
//
// Idempotency: the workflow id is derived from the email, so identical
// concurrent requests share one run. A user that already exists is answered
// from Postgres: the same body (fingerprint and password) gets the original
// 201, anything else EMAIL_TAKEN.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	fp := bank.RegistrationFingerprint(s.d.IdentityKey, req.Email, req.FullName, req.Phone, req.KYC)
	wfID := workflows.RegistrationID(req.Email)

	if creds, err := s.d.Users.CredentialsByEmail(ctx, req.Email); err == nil {
		s.answerExisting(w, r, creds, fp, req.Password)
		return
	} else if bank.ErrorCode(err) != bank.CodeNotFound {
		writeError(w, r, err)
		return
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), s.d.BcryptCost)
	if err != nil {
		writeError(w, r, err)
		return
	}
	nonce := newNonce()
	in := workflows.RegistrationInput{
		Nonce: nonce, Email: req.Email, FullName: req.FullName, Phone: req.Phone,
		PasswordHash: string(hash), KYC: req.KYC, Fingerprint: fp,
	}
	// A run we attach to may belong to a concurrent request with another
	// body; when that run failed, its id is free again and we start ours.
	for attempt := 0; attempt < 3; attempt++ {
		res, err := s.runRegistration(ctx, wfID, in)
		switch {
		case err == nil && res.Nonce == nonce:
			writeJSON(w, http.StatusCreated, map[string]any{"user": viewUser(res.User), "account": viewAccount(res.Account)})
			return
		case err == nil:
			creds, cerr := s.d.Users.CredentialsByEmail(ctx, req.Email)
			if cerr != nil {
				writeError(w, r, cerr)
				return
			}
			s.answerExisting(w, r, creds, fp, req.Password)
			return
		case errors.Is(err, context.DeadlineExceeded):
			s.answerPending(w, r, wfID, fp, req.Password)
			return
		}
		var appErr *temporal.ApplicationError
		var failure workflows.RegistrationFailure
		if code := activities.CodeOf(err); code != "" && errors.As(err, &appErr) &&
			appErr.Details(&failure) == nil && failure.Nonce != nonce {
			continue // someone else's failed run
		}
		writeError(w, r, registrationError(err))
		return
	}
	writeError(w, r, bank.Errorf(bank.CodeEmailTaken, "a registration for this email is in progress"))
}

// runRegistration starts (or attaches to) the registration and waits up to
// RegistrationWait; a timeout is context.DeadlineExceeded.
func (s *Server) runRegistration(ctx context.Context, wfID string, in workflows.RegistrationInput) (workflows.RegistrationResult, error) {
	run, err := s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                workflows.QueueRegistration,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// After a refusal (a mistyped NIN, say) the customer may try again;
		// a completed registration is never run twice.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}, workflows.Registration, in)
	if err != nil {
		return workflows.RegistrationResult{}, unavailable(err)
	}
	var res workflows.RegistrationResult
	err = await(ctx, run, s.d.RegistrationWait, &res)
	return res, err
}

// answerExisting answers a registration for an email that has a user: the
// original 201 when it is the same request, EMAIL_TAKEN otherwise.
func (s *Server) answerExisting(w http.ResponseWriter, r *http.Request, creds bank.Credentials, fp []byte, password string) {
	if !s.sameRegistration(creds, fp, password) {
		writeError(w, r, bank.Errorf(bank.CodeEmailTaken, "a user with this email already exists"))
		return
	}
	acc, err := s.defaultAccount(r.Context(), creds.User.ID)
	if bank.ErrorCode(err) == bank.CodeNotFound {
		// The user exists but its account is still being opened.
		writeJSON(w, http.StatusAccepted, registrationStatus{RegistrationID: s.registrationToken(workflows.RegistrationID(creds.User.Email), creds.Fingerprint), Status: "PENDING"})
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": viewUser(creds.User), "account": viewAccount(acc)})
}

func (s *Server) sameRegistration(creds bank.Credentials, fp []byte, password string) bool {
	if creds.Fingerprint == nil || subtle.ConstantTimeCompare(creds.Fingerprint, fp) != 1 {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(creds.PasswordHash), []byte(password)) == nil
}

// answerPending answers a registration still running: when the user and
// account are already written (the event is what is late) the caller gets
// its 201 now; otherwise 202 with the id to poll.
func (s *Server) answerPending(w http.ResponseWriter, r *http.Request, wfID string, fp []byte, password string) {
	if creds, err := s.d.Users.ByRegistrationID(r.Context(), wfID); err == nil {
		if acc, err := s.defaultAccount(r.Context(), creds.User.ID); err == nil {
			if s.sameRegistration(creds, fp, password) {
				writeJSON(w, http.StatusCreated, map[string]any{"user": viewUser(creds.User), "account": viewAccount(acc)})
				return
			}
		}
	}
	// The run we waited on may be another request's for the same email:
	// its id (and through it the outcome) is only for a request with the
	// same body.
	runFP, err := s.runFingerprint(r.Context(), wfID)
	if err != nil {
		writeError(w, r, unavailable(err))
		return
	}
	if subtle.ConstantTimeCompare(runFP, fp) != 1 {
		writeError(w, r, bank.Errorf(bank.CodeEmailTaken, "a registration for this email is in progress"))
		return
	}
	writeJSON(w, http.StatusAccepted, registrationStatus{RegistrationID: s.registrationToken(wfID, fp), Status: "PENDING"})
}

func (s *Server) defaultAccount(ctx context.Context, userID string) (bank.Account, error) {
	accs, err := s.d.Accounts.ByOwner(ctx, userID)
	if err != nil {
		return bank.Account{}, err
	}
	if len(accs) == 0 {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not provisioned yet")
	}
	return accs[0], nil
}

// registration reports a registration's state by its opaque id.
func (s *Server) registration(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	notFoundErr := bank.Errorf(bank.CodeNotFound, "no such registration")
	wfID, tag, ok := parseRegistrationToken(id)
	if !ok {
		writeError(w, r, notFoundErr)
		return
	}
	ctx := r.Context()
	out := registrationStatus{RegistrationID: id}
	desc, err := s.d.Temporal.DescribeWorkflow(ctx, wfID, "")
	var notFound *serviceerror.NotFound
	if err == nil {
		fp, ferr := s.runFingerprint(ctx, wfID)
		if ferr != nil && bank.ErrorCode(ferr) != bank.CodeNotFound {
			writeError(w, r, unavailable(ferr))
			return
		}
		if !s.tagMatches(wfID, tag, fp) {
			writeError(w, r, notFoundErr)
			return
		}
	}
	switch {
	case errors.As(err, &notFound):
		// Past Temporal's retention the database still knows the outcome.
		creds, err := s.d.Users.ByRegistrationID(ctx, wfID)
		if err == nil && !s.tagMatches(wfID, tag, creds.Fingerprint) {
			err = notFoundErr
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		acc, err := s.defaultAccount(ctx, creds.User.ID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		u, a := viewUser(creds.User), viewAccount(acc)
		out.Status, out.User, out.Account = "COMPLETED", &u, &a
	case err != nil:
		writeError(w, r, unavailable(err))
		return
	case desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		out.Status = "PENDING"
	default:
		var res workflows.RegistrationResult
		err := s.d.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, &res)
		var execErr *temporal.WorkflowExecutionError
		if err != nil && !errors.As(err, &execErr) {
			// Reading the outcome failed, not the registration.
			writeError(w, r, unavailable(err))
			return
		}
		if err != nil {
			p := ProblemFor(registrationError(err))
			out.Status, out.Error = "FAILED", &p
		} else {
			u, a := viewUser(res.User), viewAccount(res.Account)
			out.Status, out.User, out.Account = "COMPLETED", &u, &a
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// registrationToken is the opaque registration id: the email digest plus a
// tag keyed with IDENTITY_KEY over the digest and the request's
// fingerprint. Nobody can derive it from an email address, and a caller who
// sent another body for the same email never receives it.
func (s *Server) registrationToken(wfID string, fp []byte) string {
	digest := strings.TrimPrefix(wfID, "registration/")
	return digest + "." + s.registrationTag(digest, fp)
}

func (s *Server) registrationTag(digest string, fp []byte) string {
	m := hmac.New(sha256.New, s.d.IdentityKey)
	m.Write([]byte("registration-id:" + digest + ":" + hex.EncodeToString(fp)))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// parseRegistrationToken splits an id into the workflow id and its tag; the
// tag is checked against the fingerprint once that is known.
func parseRegistrationToken(id string) (wfID, tag string, ok bool) {
	digest, tag, ok := strings.Cut(id, ".")
	if !ok || len(digest) != 64 || len(tag) != 32 {
		return "", "", false
	}
	return "registration/" + digest, tag, true
}

func (s *Server) tagMatches(wfID, tag string, fp []byte) bool {
	return fp != nil && hmac.Equal([]byte(tag), []byte(s.registrationTag(strings.TrimPrefix(wfID, "registration/"), fp)))
}

// runFingerprint reads the fingerprint a registration run was started with
// (its first history event), decrypting the input with the data converter.
func (s *Server) runFingerprint(ctx context.Context, wfID string) ([]byte, error) {
	iter := s.d.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return nil, bank.Errorf(bank.CodeNotFound, "no such registration")
	}
	ev, err := iter.Next()
	if err != nil {
		return nil, err
	}
	var in workflows.RegistrationInput
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || s.d.DataConverter == nil {
		return nil, errors.New("registration history has no start event")
	}
	if err := s.d.DataConverter.FromPayloads(attrs.GetInput(), &in); err != nil {
		return nil, fmt.Errorf("decode registration input: %w", err)
	}
	return in.Fingerprint, nil
}

// registrationError maps a workflow failure to a caller-safe error.
func registrationError(err error) error {
	if code := activities.CodeOf(err); code != "" {
		switch code {
		case bank.CodeEmailTaken:
			return bank.Errorf(code, "a user with this email already exists")
		case bank.CodeIdentityInUse:
			return bank.Errorf(code, "this identity number already belongs to another user")
		case bank.CodeKYCFailed:
			return bank.Errorf(code, "the identity registry has no match for this KYC number")
		}
		return bank.Errorf(code, "registration refused")
	}
	var be *bank.Error
	if errors.As(err, &be) {
		return err
	}
	return fmt.Errorf("%w (%w)", bank.Errorf(bank.CodeInternal, "registration failed"), err)
}

// unavailable reports Temporal being unreachable as a 503, not a 500; the
// cause stays in the chain for the log.
func unavailable(err error) error {
	var be *bank.Error
	if errors.As(err, &be) {
		return err
	}
	return fmt.Errorf("%w (%w)", bank.Errorf(bank.CodeUnavailable, "the workflow service is unavailable; retry later"), err)
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login issues an access token. Unknown email and wrong password take the
// same bcrypt time and give the same 401; failures are rate-limited
// (loginLimiter).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, wait, err := s.checkLogin(r, req.Email, req.Password)
	if err != nil {
		if wait > 0 {
			retryAfter(w, wait)
		}
		writeError(w, r, err)
		return
	}
	tok, err := s.d.Tokens.Issue(p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(s.d.Tokens.TTL().Seconds()),
	})
}

// checkLogin verifies an email and password for every login form (POST
// /auth/login and the codec sign-in page): one bcrypt whether or not the
// email exists, failures counted per email, per (client address, email) and
// per address (loginLimiter). wait is set with RATE_LIMITED. Errors: VALIDATION_FAILED, RATE_LIMITED,
// UNAUTHENTICATED.
func (s *Server) checkLogin(r *http.Request, email, password string) (_ token.Principal, wait time.Duration, _ error) {
	if email == "" {
		return token.Principal{}, 0, bank.Invalid("email", "is required")
	}
	if password == "" {
		return token.Principal{}, 0, bank.Invalid("password", "is required")
	}
	if strings.ContainsRune(email, 0) {
		// No email holds a NUL, and Postgres refuses one in a query.
		return token.Principal{}, 0, bank.Invalid("email", "must not contain NUL characters")
	}
	email = strings.ToLower(email)
	addr := clientAddr(r, s.d.TrustProxy)
	if limited, retry := s.loginLimit.blocked(email, addr); limited {
		return token.Principal{}, retry, bank.Errorf(bank.CodeRateLimited, "too many failed logins; retry later")
	}
	creds, err := s.d.Users.CredentialsByEmail(r.Context(), email)
	if err != nil && bank.ErrorCode(err) != bank.CodeNotFound {
		return token.Principal{}, 0, err
	}
	hash := s.dummyHash
	if err == nil {
		hash = []byte(creds.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil {
		s.loginLimit.fail(email, addr)
		return token.Principal{}, 0, bank.Errorf(bank.CodeUnauthenticated, "email or password is wrong")
	}
	s.loginLimit.succeed(email)
	return token.Principal{UserID: creds.User.ID, Role: creds.User.Role}, 0, nil
}
