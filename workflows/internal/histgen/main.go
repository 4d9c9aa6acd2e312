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
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
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
	workers[3].RegisterActivity(&activities.Answers{})
	for _, w := range workers {
		if err := w.Start(); err != nil {
			return err
		}
		defer w.Stop()
	}

	recorders := map[string]func() error{}
	for _, tc := range fixture.Cases {
		recorders[tc.Name] = func() error { return record(ctx, c, tc, outDir) }
	}
	for _, tc := range fixture.TransferCases {
		recorders[tc.Name] = func() error { return recordTransfer(ctx, c, tc, outDir) }
	}
	recorded := 0
	for _, name := range slices.Sorted(maps.Keys(recorders)) {
		if !match.MatchString(name) {
			continue
		}
		if err := recorders[name](); err != nil {
			return fmt.Errorf("%s: %w", name, err)
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
	opts := client.StartWorkflowOptions{
		ID:                       tc.WorkflowID(),
		TaskQueue:                workflows.QueueRegistration,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: time.Minute,
	}
	return runCase(ctx, c, tc.Name, outDir, opts, workflows.Registration, tc.Input, tc.Outcome,
		func(res workflows.RegistrationResult) error {
			if res.User.ID != tc.UserID || res.Account.AccountNumber != tc.AccountNumber {
				return fmt.Errorf("unexpected result: user %q, account %q", res.User.ID, res.Account.AccountNumber)
			}
			return nil
		})
}

// recordTransfer runs one transfer case as the API starts it, checks its
// outcome and writes its history.
func recordTransfer(ctx context.Context, c client.Client, tc fixture.TransferCase, outDir string) error {
	opts, typ := workflows.StartTransfer(tc.Request)
	if opts.ID != tc.WorkflowID() || typ != tc.Workflow {
		return fmt.Errorf("the API would start %s as %s, the case says %s", opts.ID, typ, tc.Workflow)
	}
	opts.WorkflowExecutionTimeout = time.Minute
	return runCase(ctx, c, tc.Name, outDir, opts, typ, workflows.TransferInput{Request: tc.Request}, tc.Outcome,
		func(res workflows.TransferResult) error {
			if res.Transfer.ID != tc.TransferID || res.Transfer.Status != bank.StatusCompleted {
				return fmt.Errorf("unexpected result: transfer %q, status %s", res.Transfer.ID, res.Transfer.Status)
			}
			return nil
		})
}

// runCase runs a workflow to its end and writes its history, once it ended
// as its case says: with the failure code outcome, or ("") with a result
// that check accepts.
func runCase[R any](ctx context.Context, c client.Client, name, outDir string, opts client.StartWorkflowOptions,
	workflow, input any, outcome bank.Code, check func(R) error,
) error {
	run, err := c.ExecuteWorkflow(ctx, opts, workflow, input)
	if err != nil {
		return err
	}
	var res R
	err = run.Get(ctx, &res)
	switch {
	case outcome == "" && err != nil:
		return fmt.Errorf("want success, got %w", err)
	case outcome == "":
		if err := check(res); err != nil {
			return err
		}
	case workflows.CodeOf(err) != outcome:
		return fmt.Errorf("want failure %s, got %w", outcome, err)
	}
	return writeHistory(ctx, c, run, name, outDir)
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
			if tc.NotStored {
				return bank.Transfer{}, bank.Errorf(tc.Outcome, "as the ledger says it")
			}
			stored := tc.Stored(time.Now().UTC())
			if bank.UseOfKey(&stored, req.Hash()) == bank.KeyReused {
				return bank.Transfer{}, bank.Errorf(bank.CodeIdempotencyReused, "this reference was used for a different request")
			}
			return stored, nil
		}
	}
	return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "account not found")
}

type fakePublisher struct{}

func (fakePublisher) Publish(context.Context, bank.Event) error { return nil }
