package codec

import (
	"context"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

type registrationResult struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Note   string `json:"note"`
}

func (registrationResult) SensitivePayload() {}

type operatorNote struct {
	Text string `json:"text"`
}

func createUser(_ context.Context, in registrationInput) (string, error) {
	if in.PasswordHash != sampleHash {
		return "", nil // the test asserts on the id, so a wrong input surfaces as a mismatch
	}
	return "user-1", nil
}

func registrationWorkflow(ctx workflow.Context, in registrationInput) (registrationResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var id string
	if err := workflow.ExecuteActivity(ctx, createUser, in).Get(ctx, &id); err != nil {
		return registrationResult{}, err
	}
	var note operatorNote
	workflow.GetSignalChannel(ctx, "note").Receive(ctx, &note)
	return registrationResult{UserID: id, Email: in.Email, Note: note.Text}, nil
}

// recordingConverter sees every payload the SDK produces, standing in for workflow history.
type recordingConverter struct {
	converter.DataConverter
	mu       sync.Mutex
	payloads []*commonpb.Payload
}

func (r *recordingConverter) record(ps ...*commonpb.Payload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, ps...)
}

func (r *recordingConverter) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := r.DataConverter.ToPayload(v)
	if p != nil {
		r.record(p)
	}
	return p, err
}

func (r *recordingConverter) ToPayloads(vs ...any) (*commonpb.Payloads, error) {
	ps, err := r.DataConverter.ToPayloads(vs...)
	if ps != nil {
		r.record(ps.Payloads...)
	}
	return ps, err
}

func TestWorkflowWithEncryptingConverter(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	rec := &recordingConverter{DataConverter: NewDataConverter(k)}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetDataConverter(rec)
	env.RegisterWorkflow(registrationWorkflow)
	env.RegisterActivity(createUser)

	// An operator signals from the Web UI: the UI sends JSON to /encode and then the sealed payload
	// to Temporal, so the workflow receives a binary/encrypted payload for a non-Sensitive type.
	uiSealed, err := NewCodec(k).Encode([]*commonpb.Payload{{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(`{"text":"approved by ops"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow("note", converter.NewRawValue(uiSealed[0]))
	}, time.Second)

	env.ExecuteWorkflow(registrationWorkflow, sampleRegistration())

	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res registrationResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := registrationResult{UserID: "user-1", Email: sampleEmail, Note: "approved by ops"}
	if res != want {
		t.Fatalf("result = %+v, want %+v", res, want)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sealed, plain int
	for _, p := range rec.payloads {
		assertNoPlaintext(t, p.Data, sampleEmail, sampleHash, sampleBVN)
		switch encodingOf(p) {
		case MetadataEncodingEncrypted:
			sealed++
		case converter.MetadataEncodingJSON:
			plain++
		}
	}
	// Workflow input, activity input and workflow result are sealed; the activity's bare user id is not.
	if sealed < 3 || plain < 1 {
		t.Fatalf("sealed=%d plain=%d payloads; want >=3 sealed and >=1 plain", sealed, plain)
	}
}
