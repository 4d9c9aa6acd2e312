package workflows_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
	"github.com/bankcore/bank/workflows/internal/histgen/fixture"
)

// The histories in testdata were recorded from a real dev server by
//
//	go run ./workflows/internal/histgen -out workflows/testdata
//
// (-only '^transfer_' records just the transfer cases.)
//
// Replaying them proves that today's workflow code makes the same decisions
// as the code that wrote them: a change that would break registrations or
// transfers already running in production fails here. Do not regenerate them to make
// this test pass; version the change (workflow.GetVersion) instead.

func historyPath(tc fixture.Case) string {
	return filepath.Join("testdata", tc.Name+".json")
}

func transferHistoryPath(tc fixture.TransferCase) string {
	return filepath.Join("testdata", tc.Name+".json")
}

func TestReplayRegistrationHistories(t *testing.T) {
	for _, tc := range fixture.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			replay(t, historyPath(tc), func(r worker.WorkflowReplayer) { r.RegisterWorkflow(workflows.Registration) })
		})
	}
}

// replay replays the history at path with the workflows register
// registers, as the worker registers them.
func replay(t *testing.T, path string, register func(worker.WorkflowReplayer)) {
	t.Helper()
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		// The payloads are sealed; without the key the input cannot be decoded.
		DataConverter: codec.NewDataConverter(codec.DevKeyring()),
	})
	if err != nil {
		t.Fatal(err)
	}
	register(replayer)
	if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatalf("replaying %s: %v", path, err)
	}
}

// TestHistoriesShowTheirCase guards the fixtures themselves: each committed
// history has the shape its case claims, so the replay test exercises what
// it says it does (a regenerated history of the wrong branch would still
// replay).
func TestHistoriesShowTheirCase(t *testing.T) {
	for _, tc := range fixture.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			hist := loadHistory(t, tc)
			events := hist.GetEvents()

			var scheduled []string
			for _, ev := range events {
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					scheduled = append(scheduled, a.GetActivityType().GetName())
				}
			}
			if !slices.Equal(scheduled, tc.Activities) {
				t.Errorf("scheduled activities = %v, want %v", scheduled, tc.Activities)
			}

			started := events[0].GetWorkflowExecutionStartedEventAttributes()
			if got := started.GetWorkflowType().GetName(); got != "Registration" {
				t.Errorf("workflow type = %q", got)
			}
			var in workflows.RegistrationInput
			dc := codec.NewDataConverter(codec.DevKeyring())
			if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
				t.Fatalf("decoding the input: %v", err)
			}
			if in.Nonce != tc.Input.Nonce || in.Email != tc.Input.Email {
				t.Errorf("history input (nonce %q) is not case %s's", in.Nonce, tc.Name)
			}

			var res workflows.RegistrationResult
			details := ending(t, dc, events, tc.Outcome, &res)
			if tc.Outcome == "" {
				if res.User.ID != tc.UserID || res.Account.AccountNumber != tc.AccountNumber || res.Nonce != tc.Input.Nonce {
					t.Errorf("result = user %q account %q nonce %q", res.User.ID, res.Account.AccountNumber, res.Nonce)
				}
				return
			}
			var detail workflows.RegistrationFailure
			if err := dc.FromPayloads(details, &detail); err != nil {
				t.Fatalf("decoding the failure detail: %v", err)
			}
			if detail.Nonce != tc.Input.Nonce {
				t.Errorf("failure nonce = %q, want %q", detail.Nonce, tc.Input.Nonce)
			}
		})
	}
}

// TestHistoriesHoldNoPlaintextPII checks what an operator (or anyone with
// access to the Temporal database) sees: the personal data histgen registered
// must not appear in the clear, neither in the JSON text nor inside any
// payload that is not sealed by the codec (protojson base64-encodes payload
// data, so a text search alone would miss an unencrypted payload).
func TestHistoriesHoldNoPlaintextPII(t *testing.T) {
	var needles []string
	for _, tc := range fixture.Cases {
		needles = append(needles, tc.PII()...)
	}
	for _, tc := range fixture.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			raw, err := os.ReadFile(historyPath(tc))
			if err != nil {
				t.Fatal(err)
			}
			hist := loadHistory(t, tc)

			var sealed, unsealed []*commonpb.Payload
			err = proxy.VisitPayloads(context.Background(), hist, proxy.VisitPayloadsOptions{
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncodingEncrypted {
							sealed = append(sealed, p)
						} else {
							unsealed = append(unsealed, p)
						}
					}
					return ps, nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}

			visible := [][]byte{raw}
			for _, p := range unsealed {
				visible = append(visible, p.GetData())
				for _, v := range p.GetMetadata() {
					visible = append(visible, v)
				}
			}
			for _, n := range needles {
				for _, v := range visible {
					if bytes.Contains(v, []byte(n)) {
						t.Errorf("%s shows %q in the clear", historyPath(tc), n)
						break
					}
				}
			}

			// Not vacuous: the PII is in there, sealed, and the dev key opens it.
			opened, err := codec.NewCodec(codec.DevKeyring()).Decode(sealed)
			if err != nil {
				t.Fatalf("opening sealed payloads: %v", err)
			}
			var plain strings.Builder
			for _, p := range opened {
				plain.Write(p.GetData())
			}
			for _, n := range tc.PII() {
				if !strings.Contains(plain.String(), n) {
					t.Errorf("%q not found in the decrypted payloads of %s: the fixture and the history disagree", n, historyPath(tc))
				}
			}
		})
	}
}

func loadHistory(t *testing.T, tc fixture.Case) *historypb.History {
	t.Helper()
	return loadHistoryFile(t, historyPath(tc))
}

func loadHistoryFile(t *testing.T, path string) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read-only
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if len(hist.GetEvents()) == 0 {
		t.Fatalf("%s has no events", path)
	}
	return hist
}

// TestReplayTransferHistories replays the recorded transfers and deposits
// with the worker's registration: the Transfer function under both names.
func TestReplayTransferHistories(t *testing.T) {
	for _, tc := range fixture.TransferCases {
		t.Run(tc.Name, func(t *testing.T) {
			replay(t, transferHistoryPath(tc), func(r worker.WorkflowReplayer) {
				r.RegisterWorkflow(workflows.Transfer)
				r.RegisterWorkflowWithOptions(workflows.Transfer, workflow.RegisterOptions{Name: workflows.DepositWorkflow})
			})
		})
	}
}

// TestTransferHistoriesShowTheirCase guards the transfer fixtures as
// TestHistoriesShowTheirCase guards the registrations: the workflow type, the
// input, the local activities recorded (markers, not scheduled activities:
// the whole transfer is one workflow task) and the outcome.
func TestTransferHistoriesShowTheirCase(t *testing.T) {
	dc := codec.NewDataConverter(codec.DevKeyring())
	for _, tc := range fixture.TransferCases {
		t.Run(tc.Name, func(t *testing.T) {
			events := loadHistoryFile(t, transferHistoryPath(tc)).GetEvents()

			var local []string
			workflowTasks, shape := 0, 0
			for _, ev := range events {
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					t.Errorf("regular activity %s scheduled; the transfer's activities are local", a.GetActivityType().GetName())
				}
				if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					workflowTasks++
				}
				m := ev.GetMarkerRecordedEventAttributes()
				if m != nil && m.GetMarkerName() == "Version" {
					var changeID string
					if err := dc.FromPayloads(m.GetDetails()["change-id"], &changeID); err != nil || changeID != "transfer-shape" {
						t.Errorf("version marker of change %q (%v), want transfer-shape", changeID, err)
					}
					if err := dc.FromPayloads(m.GetDetails()["version"], &shape); err != nil {
						t.Fatalf("decoding the version marker: %v", err)
					}
				}
				if m == nil || m.GetMarkerName() != "LocalActivity" {
					continue
				}
				var data struct{ ActivityType string }
				if err := dc.FromPayloads(m.GetDetails()["data"], &data); err != nil {
					t.Fatalf("decoding a local activity marker: %v", err)
				}
				local = append(local, data.ActivityType)
			}
			if !slices.Equal(local, tc.Activities) {
				t.Errorf("local activities = %v, want %v", local, tc.Activities)
			}
			if workflowTasks != 1 {
				t.Errorf("%d workflow tasks, want the transfer done in one", workflowTasks)
			}
			if shape != tc.Shape {
				t.Errorf("recorded with transfer-shape %d, want %d", shape, tc.Shape)
			}

			started := events[0].GetWorkflowExecutionStartedEventAttributes()
			if got := started.GetWorkflowType().GetName(); got != tc.Workflow {
				t.Errorf("workflow type = %q, want %q", got, tc.Workflow)
			}
			var in workflows.TransferInput
			if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
				t.Fatalf("decoding the input: %v", err)
			}
			if !jsonEqual(t, in.Request, tc.Request) {
				t.Errorf("history input %+v is not case %s's", in.Request, tc.Name)
			}

			var res workflows.TransferResult
			details := ending(t, dc, events, tc.Outcome, &res)
			if tc.Outcome == "" {
				if res.Transfer.ID != tc.TransferID || res.Transfer.Status != bank.StatusCompleted || res.Transfer.Kind != tc.Request.Kind {
					t.Errorf("result = %+v", res.Transfer)
				}
				return
			}
			if tc.NotStored {
				if details != nil {
					t.Errorf("a failure that stored nothing carries a detail: %v", details)
				}
				return
			}
			var detail activities.TransferRefusal
			if err := dc.FromPayloads(details, &detail); err != nil {
				t.Fatalf("decoding the failure detail: %v", err)
			}
			if detail.Transfer.ID != tc.TransferID || detail.Transfer.Status != bank.StatusFailed || detail.Transfer.FailureCode != tc.Outcome {
				t.Errorf("refusal detail = %+v", detail.Transfer)
			}
		})
	}
}

// ending asserts how a history ends: completed with its result decoded into
// res when outcome is "", else failed with a non-retryable application
// error of type outcome, whose details it returns.
func ending(t *testing.T, dc converter.DataConverter, events []*historypb.HistoryEvent, outcome bank.Code, res any) *commonpb.Payloads {
	t.Helper()
	last := events[len(events)-1]
	if outcome == "" {
		if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			t.Fatalf("last event = %v, want completed", last.GetEventType())
		}
		if err := dc.FromPayloads(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), res); err != nil {
			t.Fatalf("decoding the result: %v", err)
		}
		return nil
	}
	if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED {
		t.Fatalf("last event = %v, want failed", last.GetEventType())
	}
	app := last.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetApplicationFailureInfo()
	if app.GetType() != string(outcome) || !app.GetNonRetryable() {
		t.Errorf("failure type %q non-retryable %v, want %s non-retryable", app.GetType(), app.GetNonRetryable(), outcome)
	}
	return app.GetDetails()
}
