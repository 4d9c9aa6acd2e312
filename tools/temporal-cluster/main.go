// Command temporal-cluster is a production-shaped Temporal server for
// bankcore: the frontend, history, matching and worker services of Temporal
// server 1.29.1 (the version the Temporal CLI 1.5.1 embeds) on PostgreSQL
// persistence and SQL visibility, with a configurable number of history
// shards, the bank's search attributes and the Web UI.
//
// One binary runs all services in one process or any of them per process:
// processes find each other through the database and gossip on their
// membership ports, so a second history host takes over the shards of one
// that dies. See docs/DEPLOYMENT.md in the bank's repository.
//
//	temporal-cluster start [flags]      run services until SIGINT/SIGTERM
//	temporal-cluster setup-schema [flags] create databases, set up or upgrade schemas, exit
//	temporal-cluster wait [flags]       exit 0 once a cluster serves, 1 at the timeout
//	temporal-cluster status [flags]     print the cluster as its frontend sees it (JSON)
//	temporal-cluster locate [flags] ID… print each workflow's shard and history host (JSON lines)
//	temporal-cluster sql-tool ...       the server's temporal-sql-tool, as it is
//	temporal-cluster version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	uiversion "github.com/temporalio/ui-server/v2/server/version"
	"go.temporal.io/server/common/headers"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the PostgreSQL persistence plugin
	sqltool "go.temporal.io/server/tools/sql"
)

// sourceHash identifies the sources the binary was built from; the
// Makefile sets it (-ldflags -X) and rebuilds when it differs.
var sourceHash = "unknown"

const usage = `temporal-cluster: a production-shaped Temporal server (PostgreSQL, N history shards, several hosts)

usage:
  temporal-cluster start [flags]         run services until SIGINT/SIGTERM (start -h lists the flags)
  temporal-cluster setup-schema [flags]  create the databases and set up or upgrade their schemas, then exit
  temporal-cluster wait [flags]          exit 0 once the cluster serves (every ring, shard, namespace), 1 at the timeout
  temporal-cluster status [flags]        print the cluster as its frontend sees it, as JSON
  temporal-cluster locate [flags] ID...  print the shard and history host of each workflow, as JSON lines
  temporal-cluster sql-tool [args]       the server's temporal-sql-tool
  temporal-cluster version               print the server, UI and source versions
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "start":
		err = runStart(ctx, rest, stdout)
	case "setup-schema":
		err = runSetupSchema(ctx, rest)
	case "wait":
		err = runWait(ctx, rest, stdout)
	case "status":
		err = runStatus(ctx, rest, stdout)
	case "locate":
		err = runLocate(ctx, rest, stdout)
	case "sql-tool":
		err = sqltool.RunTool(append([]string{"temporal-cluster sql-tool"}, rest...))
	case "version":
		_, _ = fmt.Fprintf(stdout, "temporal-cluster source=%s server=%s ui=%s\n", sourceHash, headers.ServerVersion, uiversion.UIVersion)
	case "-h", "-help", "--help", "help":
		_, _ = fmt.Fprint(stdout, usage)
	default:
		_, _ = fmt.Fprintf(stderr, "temporal-cluster: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "temporal-cluster %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
