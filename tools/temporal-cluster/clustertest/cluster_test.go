package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bank's search attributes (workflows/names.go, and BankStatus for held
// transfers), which the cluster registers by default.
var bankSearchAttributes = []string{"BankReference", "BankFromAccount", "BankToAccount", "BankUserID", "BankStatus"}

var attrReference = temporal.NewSearchAttributeKeyKeyword("BankReference")

const (
	shards        = 4
	readyTimeout  = 3 * time.Minute
	resultTimeout = time.Minute
	probeSignal   = "go"
)

// probeInput: Wait makes the workflow wait for probeSignal first, so it is
// running (its state on its shard) when a history host dies.
type probeInput struct {
	Payload string
	Wait    bool
}

// probe runs one regular activity, so a probe passes through history,
// matching and the worker's task queue like a real workflow.
func probe(ctx workflow.Context, in probeInput) (string, error) {
	if in.Wait {
		workflow.GetSignalChannel(ctx, probeSignal).Receive(ctx, nil)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, echo, in.Payload).Get(ctx, &out)
	return out, err
}

func echo(_ context.Context, s string) (string, error) { return "echo:" + s, nil }

func startWorker(t *testing.T, c client.Client, queue string) worker.Worker {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(probe)
	w.RegisterActivity(echo)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// startProbes starts n probes with ids prefix-0…, each tagged with its id
// as BankReference.
func startProbes(t *testing.T, c client.Client, queue, prefix string, n int, wait bool) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%s-%d", prefix, suffix(), i)
		ctx, cancel := context.WithTimeout(context.Background(), resultTimeout)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                    ids[i],
			TaskQueue:             queue,
			TypedSearchAttributes: temporal.NewSearchAttributes(attrReference.ValueSet(ids[i])),
		}, probe, probeInput{Payload: ids[i], Wait: wait})
		cancel()
		if err != nil {
			t.Fatalf("starting %s: %v", ids[i], err)
		}
	}
	return ids
}

// expectResults waits for each workflow's result.
func expectResults(t *testing.T, c client.Client, ids []string) {
	t.Helper()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), resultTimeout)
		var got string
		err := c.GetWorkflow(ctx, id, "").Get(ctx, &got)
		cancel()
		if err != nil {
			t.Fatalf("workflow %s: %v", id, err)
		}
		if got != "echo:"+id {
			t.Fatalf("workflow %s returned %q, want %q", id, got, "echo:"+id)
		}
	}
}

// portFlags gives the services of a process their ports.
type portFlags map[string]int

func (p portFlags) args() []string {
	var out []string
	for _, name := range []string{
		"frontend-port", "frontend-membership-port", "frontend-http-port",
		"history-port", "history-membership-port",
		"matching-port", "matching-membership-port",
		"worker-port", "worker-membership-port", "ui-port",
	} {
		if v, ok := p[name]; ok {
			out = append(out, "--"+name, itoa(v))
		}
	}
	return out
}

func TestOneProcessClusterRunsWorkflowsAndRestarts(t *testing.T) {
	t.Parallel()
	db, vis := databases(t)
	pp := freePorts(t, 10)
	ports := portFlags{
		"frontend-port": pp[0], "frontend-membership-port": pp[1], "frontend-http-port": pp[2],
		"history-port": pp[3], "history-membership-port": pp[4],
		"matching-port": pp[5], "matching-membership-port": pp[6],
		"worker-port": pp[7], "worker-membership-port": pp[8], "ui-port": pp[9],
	}
	const codec = "http://localhost:18080/codec"
	args := append([]string{
		"--postgres", adminURL, "--db", db, "--visibility-db", vis,
		"--history-shards", itoa(shards), "--ui-codec-endpoint", codec,
	}, ports.args()...)
	frontend := "127.0.0.1:" + itoa(pp[0])

	p := start(t, "cluster", args...)
	line, took := p.waitReady(readyTimeout)
	t.Logf("first start (databases created, schemas set up): ready after %v: %s", took, line)
	if !strings.Contains(line, "frontend="+frontend) || !strings.Contains(line, fmt.Sprintf("ui=http://127.0.0.1:%d", pp[9])) {
		t.Errorf("ready line %q does not name the frontend %s and the UI", line, frontend)
	}
	if out, err := command(t, "wait", "--address", frontend, "--timeout", "1m"); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "serves") {
		t.Errorf("wait said %q", out)
	}

	s := status(t, frontend)
	if s.ServerVersion != "1.29.1" {
		t.Errorf("server version = %q, want 1.29.1 (the one the Temporal CLI 1.5.1 embeds)", s.ServerVersion)
	}
	if s.HistoryShardCount != shards {
		t.Errorf("history shards = %d, want %d", s.HistoryShardCount, shards)
	}
	if !strings.HasPrefix(s.PersistenceStore, "postgres") || !strings.HasPrefix(s.VisibilityStore, "postgres") {
		t.Errorf("stores = %q and %q, want PostgreSQL for both", s.PersistenceStore, s.VisibilityStore)
	}
	historyAddr := "127.0.0.1:" + itoa(pp[3])
	if got := s.ShardOwners[historyAddr]; !slices.Equal(got, []int32{1, 2, 3, 4}) || len(s.UnservedShards) > 0 {
		t.Errorf("shard owners %v (unserved %v), want %s to own 1-4", s.ShardOwners, s.UnservedShards, historyAddr)
	}
	for _, role := range []string{"frontend", "history", "matching", "worker"} {
		if len(s.Rings[role]) != 1 {
			t.Errorf("ring %s = %v, want one member", role, s.Rings[role])
		}
	}
	for _, sa := range bankSearchAttributes {
		if !slices.Contains(s.Namespaces["default"], sa) {
			t.Errorf("namespace default lacks search attribute %s: %v", sa, s.Namespaces)
		}
	}
	checkUI(t, pp[9], codec)

	c := dial(t, frontend)
	queue := "probe-" + suffix()
	w := startWorker(t, c, queue)
	ids := startProbes(t, c, queue, "before-restart", 4, false)
	expectResults(t, c, ids)
	// SQL visibility indexes the custom search attribute.
	poll(t, "visibility finds the workflow by BankReference", time.Minute, func() error {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default",
			Query:     fmt.Sprintf("BankReference = %q", ids[0]),
		})
		if err != nil {
			return err
		}
		if n := len(resp.GetExecutions()); n != 1 {
			return fmt.Errorf("%d executions", n)
		}
		if st := resp.GetExecutions()[0].GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})

	// A restart on the same databases: the schema steps and the namespace
	// registration find everything in place, and the history is still there.
	w.Stop()
	p.stop()
	p2 := start(t, "cluster-restarted", args...)
	line, took = p2.waitReady(readyTimeout)
	t.Logf("restart on existing databases: ready after %v: %s", took, line)
	c2 := dial(t, frontend)
	startWorker(t, c2, queue)
	expectResults(t, c2, ids)
	expectResults(t, c2, startProbes(t, c2, queue, "after-restart", 2, false))
}

// checkUI asks the Web UI for its settings: it serves, and points browsers
// at our codec server.
func checkUI(t *testing.T, port int, codec string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/settings", port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var settings struct {
		Codec struct {
			Endpoint           string
			IncludeCredentials bool
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&settings); err != nil {
		t.Fatalf("UI settings: %v", err)
	}
	if resp.StatusCode != http.StatusOK || settings.Codec.Endpoint != codec || !settings.Codec.IncludeCredentials {
		t.Errorf("UI settings: status %d, codec %+v; want 200 and %s with credentials", resp.StatusCode, settings.Codec, codec)
	}
}

// A cluster of three processes (frontend+matching+worker+UI, and two history
// hosts): when the history host holding running workflows is killed, the
// other takes over its shards, the workflows carry on, and new ones run.
func TestHistoryHostFailover(t *testing.T) {
	t.Parallel()
	db, vis := databases(t)
	pp := freePorts(t, 11)
	base := append([]string{
		"--postgres", adminURL, "--db", db, "--visibility-db", vis, "--history-shards", itoa(shards),
	}, portFlags{
		"frontend-port": pp[0], "frontend-membership-port": pp[1], "frontend-http-port": 0,
		"matching-port": pp[2], "matching-membership-port": pp[3],
		"worker-port": pp[4], "worker-membership-port": pp[5], "ui-port": pp[6],
	}.args()...)
	frontend := "127.0.0.1:" + itoa(pp[0])
	historyArgs := func(grpc, membership int) []string {
		return append(slices.Clone(base), "--services", "history",
			"--history-port", itoa(grpc), "--history-membership-port", itoa(membership))
	}

	front := start(t, "frontend", append(slices.Clone(base), "--services", "frontend,matching,worker,ui")...)
	hosts := map[string]*proc{
		"127.0.0.1:" + itoa(pp[7]): start(t, "history-1", historyArgs(pp[7], pp[8])...),
		"127.0.0.1:" + itoa(pp[9]): start(t, "history-2", historyArgs(pp[9], pp[10])...),
	}
	_, took := front.waitReady(readyTimeout)
	t.Logf("frontend process ready after %v", took)
	for _, h := range hosts {
		h.waitReady(readyTimeout)
	}
	if _, err := command(t, "wait", "--address", frontend, "--history-hosts", "2", "--timeout", "2m"); err != nil {
		t.Fatal(err)
	}
	s := status(t, frontend)
	if len(s.Rings["history"]) != 2 || len(s.UnservedShards) > 0 {
		t.Fatalf("history ring %v, unserved shards %v; want two hosts serving every shard", s.Rings["history"], s.UnservedShards)
	}
	t.Logf("before the kill: shard owners %v", s.ShardOwners)

	c := dial(t, frontend)
	queue := "probe-" + suffix()
	startWorker(t, c, queue)
	expectResults(t, c, startProbes(t, c, queue, "before-kill", 2, false))

	// Running workflows, then the host that holds the most of them dies.
	waiting := startProbes(t, c, queue, "waiting", 8, true)
	held := map[string]int{}
	for _, l := range locate(t, frontend, waiting) {
		held[l.HistoryHost]++
	}
	victim, survivor := "", ""
	for addr := range hosts {
		if victim == "" || held[addr] > held[victim] {
			victim = addr
		}
	}
	for addr := range hosts {
		if addr != victim {
			survivor = addr
		}
	}
	if held[victim] == 0 {
		t.Fatalf("no waiting workflow is on either history host: locate said %v", held)
	}
	t.Logf("killing history host %s, which holds %d of %d running workflows", victim, held[victim], len(waiting))
	hosts[victim].kill()

	took = poll(t, "the surviving history host serves every shard", 2*time.Minute, func() error {
		s := status(t, frontend)
		if len(s.Rings["history"]) != 1 || len(s.UnservedShards) > 0 || len(s.ShardOwners[survivor]) != shards {
			return fmt.Errorf("history ring %v, owners %v, unserved %v", s.Rings["history"], s.ShardOwners, s.UnservedShards)
		}
		return nil
	})
	t.Logf("shards moved to %s %v after the kill", survivor, took)

	for _, id := range waiting {
		ctx, cancel := context.WithTimeout(context.Background(), resultTimeout)
		err := c.SignalWorkflow(ctx, id, "", probeSignal, nil)
		cancel()
		if err != nil {
			t.Fatalf("signalling %s: %v", id, err)
		}
	}
	expectResults(t, c, waiting)
	for _, l := range locate(t, frontend, waiting) {
		if l.HistoryHost != survivor {
			t.Errorf("workflow %s is on %s, want the survivor %s", l.WorkflowID, l.HistoryHost, survivor)
		}
	}
	expectResults(t, c, startProbes(t, c, queue, "after-kill", 4, false))
}
