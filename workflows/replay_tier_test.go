package workflows_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
	"github.com/bankcore/bank/workflows/internal/histgen/fixture"
)

func tierHistoryPath(tc fixture.TierCase) string {
	return filepath.Join("testdata", tc.Name+".json")
}

// TestReplayTierHistories replays the recorded upgrades, of every shape the
// workflow has had: upgrades started by older code keep running after a
// deploy.
func TestReplayTierHistories(t *testing.T) {
	for _, tc := range fixture.TierCases {
		t.Run(tc.Name, func(t *testing.T) {
			replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter: codec.NewDataConverter(codec.DevKeyring()),
			})
			if err != nil {
				t.Fatal(err)
			}
			replayer.RegisterWorkflow(workflows.UpgradeTier)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, tierHistoryPath(tc)); err != nil {
				t.Fatalf("replaying %s: %v", tierHistoryPath(tc), err)
			}
		})
	}
}

// TestTierHistoriesShowTheirCase guards the tier fixtures: the activities
// scheduled, the input, the outcome, and no KYC number in the clear.
func TestTierHistoriesShowTheirCase(t *testing.T) {
	dc := codec.NewDataConverter(codec.DevKeyring())
	for _, tc := range fixture.TierCases {
		t.Run(tc.Name, func(t *testing.T) {
			hist := loadHistoryFile(t, tierHistoryPath(tc))
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
			if got := started.GetWorkflowType().GetName(); got != "UpgradeTier" {
				t.Errorf("workflow type = %q", got)
			}
			var in workflows.UpgradeTierInput
			if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
				t.Fatalf("decoding the input: %v", err)
			}
			if in.RequestID != tc.Input.RequestID || in.KYC != tc.Input.KYC {
				t.Errorf("history input (request %s) is not case %s's", in.RequestID, tc.Name)
			}
			last := events[len(events)-1]
			if tc.Outcome == "" {
				if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
					t.Fatalf("last event = %v, want completed", last.GetEventType())
				}
				var res workflows.UpgradeTierResult
				if err := dc.FromPayloads(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res); err != nil {
					t.Fatalf("decoding the result: %v", err)
				}
				if res.Account.Tier != tc.Input.Tier || res.Account.AccountNumber != tc.Input.AccountNumber {
					t.Errorf("result = %+v", res.Account)
				}
			} else {
				if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED {
					t.Fatalf("last event = %v, want failed", last.GetEventType())
				}
				// The activity's failure, as the workflow returned it (the
				// API reads the code the same way, through the chain).
				f := last.GetWorkflowExecutionFailedEventAttributes().GetFailure()
				for f.GetApplicationFailureInfo() == nil && f.GetCause() != nil {
					f = f.GetCause()
				}
				app := f.GetApplicationFailureInfo()
				if app.GetType() != string(tc.Outcome) || !app.GetNonRetryable() {
					t.Errorf("failure type %q non-retryable %v, want %s non-retryable", app.GetType(), app.GetNonRetryable(), tc.Outcome)
				}
			}

			// The KYC number is sealed wherever it travels.
			raw, err := os.ReadFile(tierHistoryPath(tc))
			if err != nil {
				t.Fatal(err)
			}
			visible := [][]byte{raw}
			err = proxy.VisitPayloads(context.Background(), hist, proxy.VisitPayloadsOptions{
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						if string(p.GetMetadata()[converter.MetadataEncoding]) != codec.MetadataEncodingEncrypted {
							visible = append(visible, p.GetData())
						}
					}
					return ps, nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.PII() {
				for _, v := range visible {
					if bytes.Contains(v, []byte(n)) {
						t.Errorf("%s shows %q in the clear", tierHistoryPath(tc), n)
					}
				}
			}
		})
	}
}
