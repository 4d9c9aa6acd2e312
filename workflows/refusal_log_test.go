package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/workflows"
)

// levelLog records what the SDK logs, by level.
type levelLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *levelLog) add(level, msg string, kv []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(kv...))
}

func (l *levelLog) Debug(msg string, kv ...any) { l.add("DEBUG", msg, kv) }
func (l *levelLog) Info(msg string, kv ...any)  { l.add("INFO", msg, kv) }
func (l *levelLog) Warn(msg string, kv ...any)  { l.add("WARN", msg, kv) }
func (l *levelLog) Error(msg string, kv ...any) { l.add("ERROR", msg, kv) }

func (l *levelLog) at(level string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.HasPrefix(line, level+" ") {
			out = append(out, line)
		}
	}
	return out
}

type usersFunc func() (bank.User, error)

func (f usersFunc) CreateCustomer(context.Context, bank.NewCustomer) (bank.User, error) { return f() }

// Issue 15: a routine IDENTITY_IN_USE logged ERROR "Activity error." in the
// worker. A business refusal is an answer, not a fault: activities return
// it as a benign application error, which the SDK logs at debug level. A
// real fault (the database refusing connections) is still an error.
func TestBusinessRefusalsAreNotLoggedAsErrors(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	logs := &levelLog{}
	suite.SetLogger(logs)
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(10 * time.Second)
	in := testInput()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.RegistrationID(in.Email)})
	env.RegisterWorkflow(workflows.Registration)
	env.RegisterActivity(&activities.Registration{})
	env.RegisterActivity(&activities.Accounts{})
	env.RegisterActivity(&activities.Events{})
	env.OnActivity(regActs.VerifyKYC, mock.Anything, mock.Anything).Return(nil)
	attempt := 0
	env.OnActivity(regActs.CreateUser, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.CreateUserInput) (activities.CreateUserResult, error) {
			attempt++
			act := &activities.Registration{Users: usersFunc(func() (bank.User, error) {
				if attempt == 1 {
					return bank.User{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
				}
				return bank.User{}, bank.Errorf(bank.CodeIdentityInUse, "this NIN already belongs to another user")
			})}
			return act.CreateUser(ctx, in)
		})
	env.ExecuteWorkflow(workflows.Registration, in)
	if got := activities.CodeOf(env.GetWorkflowError()); got != bank.CodeIdentityInUse {
		t.Fatalf("workflow error %v, want IDENTITY_IN_USE", env.GetWorkflowError())
	}
	errs := logs.at("ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], "connection refused") {
		t.Errorf("ERROR lines = %q, want one: the connection failure", errs)
	}
	for _, line := range append(errs, logs.at("WARN")...) {
		if strings.Contains(line, string(bank.CodeIdentityInUse)) {
			t.Errorf("the refusal is logged as a fault: %s", line)
		}
	}
}
