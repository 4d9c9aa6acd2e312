package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/server/api/adminservice/v1"
	"go.temporal.io/server/common/log"

	"github.com/bankcore/bank/tools/temporal-cluster/internal/options"
)

// runSetupSchema does what `start` does first, and exits: for a deployment
// that prepares the databases in a step of its own (start --setup-schema=false).
func runSetupSchema(ctx context.Context, args []string) error {
	o, err := options.Parse(args, os.Getenv)
	if err != nil {
		return err
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Stdout: true, Level: o.LogLevel, Format: o.LogFormat}))
	return ensureSchema(ctx, o, logger)
}

// clientFlags are the flags of the commands that talk to a running cluster.
type clientFlags struct {
	address    string
	namespaces []string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	address := os.Getenv("TEMPORAL_ADDRESS")
	if address == "" {
		address = "127.0.0.1:7233"
	}
	fs.StringVar(&c.address, "address", address, "frontend gRPC address (default $TEMPORAL_ADDRESS or 127.0.0.1:7233)")
	fs.Func("namespace", "namespace to check besides default (repeatable)", func(v string) error {
		c.namespaces = append(c.namespaces, v)
		return nil
	})
}

func (c *clientFlags) allNamespaces() []string {
	return append([]string{"default"}, c.namespaces...)
}

// runWait polls the cluster until it serves: the frontend answers its health
// check, every role has a member (history at least --history-hosts), every
// shard is served, and every namespace has every search attribute.
func runWait(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("temporal-cluster wait", flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	historyHosts := fs.Int("history-hosts", 1, "history hosts the ring must have")
	attrs := fs.String("search-attributes", strings.Join(bankSearchAttributeNames(), ","),
		"comma-separated search attributes every namespace must have")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var want []string
	for _, a := range strings.Split(*attrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			want = append(want, a)
		}
	}
	f, err := dialFrontend(c.address)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	err = retry(ctx, "waiting for the cluster at "+c.address, func(ctx context.Context) error {
		if err := f.serving(ctx); err != nil {
			return err
		}
		s, err := describeCluster(ctx, f, c.allNamespaces())
		if err != nil {
			return err
		}
		if missing := s.readiness(c.allNamespaces(), want, *historyHosts); missing != "" {
			return errors.New(missing)
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "temporal-cluster: %s serves\n", c.address)
	return nil
}

// runStatus prints Status as JSON. It fails only when the frontend does not
// answer.
func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("temporal-cluster status", flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := dialFrontend(c.address)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := describeCluster(ctx, f, c.allNamespaces())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func bankSearchAttributeNames() []string {
	var names []string
	for _, a := range options.BankSearchAttributes() {
		name, _, _ := strings.Cut(a, "=")
		names = append(names, name)
	}
	return names
}

// Location is one line of `temporal-cluster locate`: the shard that holds a
// workflow and the history host serving that shard now.
type Location struct {
	WorkflowID  string `json:"workflow_id"`
	ShardID     int32  `json:"shard_id"`
	HistoryHost string `json:"history_host"`
}

// runLocate prints where each workflow id lives, one JSON object a line
// (for operators asking which host holds a transfer, and for fault tests
// that must kill the host holding a given workflow).
func runLocate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("temporal-cluster locate", flag.ContinueOnError)
	address := os.Getenv("TEMPORAL_ADDRESS")
	if address == "" {
		address = "127.0.0.1:7233"
	}
	fs.StringVar(&address, "address", address, "frontend gRPC address (default $TEMPORAL_ADDRESS or 127.0.0.1:7233)")
	namespace := fs.String("namespace", "default", "the workflows' namespace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("name one or more workflow ids")
	}
	f, err := dialFrontend(address)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	enc := json.NewEncoder(stdout)
	for _, id := range fs.Args() {
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := f.admin.DescribeMutableState(callCtx, &adminservice.DescribeMutableStateRequest{
			Namespace:       *namespace,
			Execution:       &commonpb.WorkflowExecution{WorkflowId: id},
			SkipForceReload: true,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("workflow %s: %w", id, err)
		}
		shard, err := strconv.ParseInt(resp.GetShardId(), 10, 32)
		if err != nil {
			return fmt.Errorf("workflow %s: shard id %q: %w", id, resp.GetShardId(), err)
		}
		if err := enc.Encode(Location{WorkflowID: id, ShardID: int32(shard), HistoryHost: resp.GetHistoryAddr()}); err != nil {
			return err
		}
	}
	return nil
}
