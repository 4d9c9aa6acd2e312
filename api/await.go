package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// errStillRunning reports a workflow that did not finish within the wait;
// the handler then answers from Postgres or with 202.
var errStillRunning = fmt.Errorf("workflow still running: %w", context.DeadlineExceeded)

// await waits up to wait for run's result into res. Running out of time is
// errStillRunning whichever way it shows: our deadline, or the SDK's long
// poll giving up a little before it with its own DeadlineExceeded.
func await(ctx context.Context, run client.WorkflowRun, wait time.Duration, res any) error {
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := run.Get(waitCtx, res)
	if err != nil && (waitCtx.Err() != nil || stillRunning(err)) {
		return errStillRunning
	}
	return err
}

// stillRunning recognises a wait for a workflow's result that ran out of
// time (ours, or the server's long poll), not a workflow that ended.
func stillRunning(err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline)
}
