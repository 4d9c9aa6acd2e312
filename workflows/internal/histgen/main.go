// Command histgen regenerates the workflow histories that the replay tests in
// package workflows read (workflows/testdata/*.json):
//
//	go run ./workflows/internal/histgen -out workflows/testdata
//	go run ./workflows/internal/histgen -out workflows/testdata -only '^transfer_'
//	go run ./workflows/internal/histgen -out workflows/testdata -only '^tier_'
//
// It starts a Temporal dev server (internal/localtemporal: in memory, on free
// ports), runs workers in this process with the real Registration and
// Transfer workflows and the real activity structs over in-memory fakes of
// their dependencies (no database, broker or KYC registry), and the same
// encrypting data converter as production with the publicly known dev key.
// It runs every case of package fixture (or those whose name matches -only,
// so new cases can be recorded without rewriting the committed histories),
// checks each outcome, writes each history as JSON
// (protojson of history.History, the format of
// worker.WorkflowReplayer.ReplayWorkflowHistoryFromJSONFile and of
// `temporal workflow show --output json`) and stops the server.
//
// Regenerate only when the workflow changes on purpose in a way that old
// histories can no longer replay (and then version the change instead, if
// registrations may be running in production). The Temporal CLI is found by
// -temporal, else as localtemporal.FindCLI finds it ($TEMPORAL_CLI, else the
// one `make temporal` builds).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/workflows"
	"github.com/bankcore/bank/workflows/internal/histgen/fixture"
)

// identity replaces the default worker/client identity (pid@hostname), which
// would otherwise end up in the committed histories.
const identity = "histgen"

func main() {
	out := flag.String("out", "", "directory to write the histories to (required), e.g. workflows/testdata")
	cli := flag.String("temporal", "", "path of the Temporal CLI (default: $TEMPORAL_CLI, else the one `make temporal` builds)")
	only := flag.String("only", "", "record only the cases whose name matches this regular expression")
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	match, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "histgen: -only:", err)
		os.Exit(2)
	}
	if err := run(*out, *cli, match); err != nil {
		fmt.Fprintln(os.Stderr, "histgen:", err)
		os.Exit(1)
	}
}

func run(outDir, cliPath string, match *regexp.Regexp) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	srv, err := localtemporal.Start(ctx, localtemporal.Options{CLI: cliPath, Headless: true, SearchAttributes: workflows.SearchAttributes})
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()

	c, err := client.DialContext(ctx, client.Options{
		HostPort:      srv.Address(),
		Identity:      identity,
		Logger:        sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		DataConverter: codec.NewDataConverter(codec.DevKeyring()),
	})
	if err != nil {
		return err
	}
	defer c.Close()

	workers := []worker.Worker{
		worker.New(c, workflows.QueueRegistration, worker.Options{Identity: identity}),
		worker.New(c, workflows.QueueAccounts, worker.Options{Identity: identity}),
		worker.New(c, workflows.QueueNotify, worker.Options{Identity: identity}),
		worker.New(c, workflows.QueueTransfers, worker.Options{Identity: identity}),
	}
	workers[0].RegisterWorkflow(workflows.Registration)
	workers[0].RegisterActivity(&activities.Registration{
		KYC:         fakeKYC{},
		Users:       fakeUsers{},
		Evidence:    fakeEvidence{},
		IdentityKey: histgenIdentityKey,
	})
	workers[1].RegisterWorkflow(workflows.UpgradeTier)
	workers[1].RegisterActivity(&activities.Accounts{Accounts: fakeAccounts{}, Tiers: fakeAccounts{}, IdentityKey: histgenIdentityKey})
	workers[2].RegisterActivity(&activities.Events{Publisher: fakePublisher{}})
	// As workers.New wires it: both names, local activities where the workflow runs.
	workers[3].RegisterWorkflow(workflows.Transfer)
	workers[3].RegisterWorkflowWithOptions(workflows.Transfer, workflow.RegisterOptions{Name: workflows.DepositWorkflow})
	workers[3].RegisterActivity(&activities.Ledger{Ledger: fakeLedger{}})
	workers[3].RegisterActivity(&activities.Events{Publisher: fakePublisher{}})
	for _, w := range workers {
		if err := w.Start(); err != nil {
			return err
		}
		defer w.Stop()
	}

	recorded := 0
	for _, tc := range fixture.Cases {
		if !match.MatchString(tc.Name) {
			continue
		}
		if err := record(ctx, c, tc, outDir); err != nil {
			return fmt.Errorf("%s: %w", tc.Name, err)
		}
		recorded++
	}
	for _, tc := range fixture.TransferCases {
		if !match.MatchString(tc.Name) {
			continue
		}
		if err := recordTransfer(ctx, c, tc, outDir); err != nil {
			return fmt.Errorf("%s: %w", tc.Name, err)
		}
		recorded++
	}
	for _, tc := range fixture.TierCases {
		if !match.MatchString(tc.Name) {
			continue
		}
		if err := recordTier(ctx, c, tc, outDir); err != nil {
			return fmt.Errorf("%s: %w", tc.Name, err)
		}
		recorded++
	}
	if recorded == 0 {
		return fmt.Errorf("no case matches -only %q", match)
	}
	return nil
}

// record runs one registration case, checks its outcome and writes its history.
func record(ctx context.Context, c client.Client, tc fixture.Case, outDir string) error {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       tc.WorkflowID(),
		TaskQueue:                workflows.QueueRegistration,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: time.Minute,
	}, workflows.Registration, tc.Input)
	if err != nil {
		return err
	}
	var res workflows.RegistrationResult
	err = run.Get(ctx, &res)
	switch {
	case tc.Outcome == "" && err != nil:
		return fmt.Errorf("want success, got %w", err)
	case tc.Outcome == "" && (res.User.ID != tc.UserID || res.Account.AccountNumber != tc.AccountNumber):
		return fmt.Errorf("unexpected result: user %q, account %q", res.User.ID, res.Account.AccountNumber)
	case tc.Outcome != "" && activities.CodeOf(err) != tc.Outcome:
		return fmt.Errorf("want failure %s, got %w", tc.Outcome, err)
	}
	return writeHistory(ctx, c, run, tc.Name, outDir)
}

// recordTransfer runs one transfer case as the API starts it, checks its
// outcome and writes its history.
func recordTransfer(ctx context.Context, c client.Client, tc fixture.TransferCase, outDir string) error {
	req := tc.Request
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       tc.WorkflowID(),
		TaskQueue:                workflows.QueueTransfers,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		EnableEagerStart:         true,
		WorkflowExecutionTimeout: time.Minute,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrReference.ValueSet(req.Reference),
			workflows.AttrFromAccount.ValueSet(req.FromAccount),
			workflows.AttrToAccount.ValueSet(req.ToAccount),
			workflows.AttrUserID.ValueSet(req.CreatedBy),
		),
	}, tc.Workflow, workflows.TransferInput{Request: req})
	if err != nil {
		return err
	}
	var res workflows.TransferResult
	err = run.Get(ctx, &res)
	switch {
	case tc.Outcome == "" && err != nil:
		return fmt.Errorf("want success, got %w", err)
	case tc.Outcome == "" && (res.Transfer.ID != tc.TransferID || res.Transfer.Status != bank.StatusCompleted):
		return fmt.Errorf("unexpected result: transfer %q, status %s", res.Transfer.ID, res.Transfer.Status)
	case tc.Outcome != "" && activities.CodeOf(err) != tc.Outcome:
		return fmt.Errorf("want failure %s, got %w", tc.Outcome, err)
	}
	return writeHistory(ctx, c, run, tc.Name, outDir)
}

// writeHistory writes a finished run's history as indented protojson.
func writeHistory(ctx context.Context, c client.Client, run client.WorkflowRun, name, outDir string) error {
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		hist.Events = append(hist.Events, ev)
	}
	raw, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(hist)
	if err != nil {
		return err
	}
	// protojson deliberately varies its whitespace; re-indent for stable diffs.
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	path := filepath.Join(outDir, name+".json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d events)\n", path, len(hist.Events))
	return nil
}

// Fakes of the activities' dependencies, answering from package fixture.

type fakeKYC struct{}

func (fakeKYC) Verify(_ context.Context, k bank.KYC) error {
	if k.Number == fixture.KYCNoMatch {
		return bank.Errorf(bank.CodeKYCFailed, "identity could not be verified")
	}
	return nil
}

type fakeUsers struct{}

func (fakeUsers) CreateCustomer(_ context.Context, in bank.NewCustomer) (bank.User, error) {
	if in.Email == fixture.EmailTaken {
		return bank.User{}, bank.Errorf(bank.CodeEmailTaken, "email is already registered")
	}
	for _, tc := range fixture.Cases {
		if tc.Input.Email == in.Email {
			return bank.User{
				ID:        tc.UserID,
				Email:     in.Email,
				FullName:  in.FullName,
				Phone:     in.Phone,
				Role:      bank.RoleCustomer,
				CreatedAt: time.Now().UTC(),
			}, nil
		}
	}
	return bank.User{}, errors.New("fake user store: no fixture for this email")
}

type fakeAccounts struct{}

func (fakeAccounts) ProvisionDefault(_ context.Context, ownerID string) (bank.Account, error) {
	for _, tc := range fixture.Cases {
		if tc.UserID != "" && tc.UserID == ownerID {
			return bank.Account{
				AccountNumber: tc.AccountNumber,
				OwnerID:       ownerID,
				Tier:          bank.Tier1,
				CreatedAt:     time.Now().UTC(),
			}, nil
		}
	}
	return bank.Account{}, fmt.Errorf("fake account store: no fixture for owner %q", ownerID)
}

// fakeLedger stores nothing: it answers each request with its case's
// transfer, as the real ledger would after posting (or refusing) it.
type fakeLedger struct{}

func (fakeLedger) Post(_ context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	for _, tc := range fixture.TransferCases {
		if tc.Request.KeyOwner == req.KeyOwner && tc.Request.Reference == req.Reference {
			if !bytes.Equal(tc.Request.Hash(), req.Hash()) {
				return bank.Transfer{}, bank.Errorf(bank.CodeIdempotencyReused, "this reference was used for a different request")
			}
			return tc.Stored(time.Now().UTC()), nil
		}
	}
	return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "account not found")
}

type fakePublisher struct{}

func (fakePublisher) Publish(context.Context, bank.Event) error { return nil }
