// Package workers wires workflows and activities to their task queues. One
// process (`bank worker`) serves every queue; each queue can also be scaled
// on its own by running more processes.
package workers

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/workflows"
)

// Activities are the dependencies of every queue's activities.
type Activities struct {
	Registration *activities.Registration
	Accounts     *activities.Accounts
	Events       *activities.Events
	Ledger       *activities.Ledger
	Answers      *activities.Answers
}

// Options tune the workers.
type Options struct {
	// MaxConcurrentActivities per worker; 0 keeps the SDK default.
	MaxConcurrentActivities int
}

// New builds one worker per task queue.
func New(c client.Client, acts Activities, opts Options) []worker.Worker {
	wo := worker.Options{MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities}

	reg := worker.New(c, workflows.QueueRegistration, wo)
	reg.RegisterWorkflow(workflows.Registration)
	reg.RegisterActivity(acts.Registration)

	acc := worker.New(c, workflows.QueueAccounts, wo)
	acc.RegisterWorkflow(workflows.UpgradeTier)
	acc.RegisterActivity(acts.Accounts)

	// Transfers run their posting, publishing and answer as local
	// activities, so those are registered where the workflow runs.
	trf := worker.New(c, workflows.QueueTransfers, wo)
	trf.RegisterWorkflow(workflows.Transfer)
	trf.RegisterWorkflowWithOptions(workflows.Transfer, workflow.RegisterOptions{Name: workflows.DepositWorkflow})
	trf.RegisterActivity(acts.Ledger)
	trf.RegisterActivity(acts.Events)
	trf.RegisterActivity(acts.Answers)

	ntf := worker.New(c, workflows.QueueNotify, wo)
	ntf.RegisterActivity(acts.Events)

	return []worker.Worker{reg, acc, trf, ntf}
}

// Run starts the workers and blocks until ctx is done, then stops them,
// letting running activities finish within the SDK's stop timeout.
func Run(ctx context.Context, ws []worker.Worker) error {
	started := make([]worker.Worker, 0, len(ws))
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].Stop()
		}
	}()
	for _, w := range ws {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		started = append(started, w)
	}
	<-ctx.Done()
	return nil
}
