package chaos

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/proc"
)

// TestChaosShort is the short fault run inside `make test`: every fault kind
// once against a bank of its own, then every invariant. It builds bin/bank
// itself, starts private PostgreSQL, RabbitMQ, Redis and Temporal on free
// loopback ports, and stops all of it before returning.
func TestChaosShort(t *testing.T) {
	out := proc.NewTailBuffer(4 << 20) // the whole report; safe for the run's concurrent printers
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Short: true, Out: out})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("the run itself failed (seed %d): %v", res.Seed, err)
	}
	if res.Failed > 0 || res.Passed != len(res.Invariants) || len(res.Invariants) == 0 {
		t.Fatalf("%d invariants failed (seed %d; rerun with go run ./cmd/chaos -short -seed %d)", res.Failed, res.Seed, res.Seed)
	}
	kinds := map[FaultKind]int{}
	for _, f := range res.Faults {
		kinds[f.Kind]++
	}
	for _, k := range FaultKinds {
		if kinds[k] != 1 {
			t.Errorf("fault %q injected %d times, want once", k, kinds[k])
		}
	}
	if !strings.Contains(out.String(), "passed, 0 failed") {
		t.Errorf("the report does not end with the tally")
	}
}

func TestScheduleHoldsEveryKindPerRound(t *testing.T) {
	for seed := range uint64(50) {
		n := &nemesis{rng: rand.New(rand.NewPCG(seed, 1))}
		plan := n.schedule(2)
		if len(plan) != 2*len(FaultKinds) {
			t.Fatalf("plan has %d faults", len(plan))
		}
		for r := range 2 {
			seen := map[FaultKind]bool{}
			for _, k := range plan[r*len(FaultKinds) : (r+1)*len(FaultKinds)] {
				seen[k] = true
			}
			if len(seen) != len(FaultKinds) {
				t.Fatalf("seed %d round %d: %v", seed, r, plan)
			}
		}
		for i := 1; i < len(plan); i++ {
			if plan[i] == plan[i-1] {
				t.Fatalf("seed %d: %s twice in a row: %v", seed, plan[i], plan)
			}
		}
	}
}

func TestWorkflowKey(t *testing.T) {
	owner := "6dc7416e-ec67-44cc-9c3a-0d2b8c1f9a11"
	cases := map[string]key2{
		"deposit/d-00001-abc":              {"00000000-0000-0000-0000-000000000000", "d-00001-abc"},
		"transfer/" + owner + "/t01-00002": {owner, "t01-00002"},
		"transfer/not-a-uuid/x":            {},
		"registration/abcdef":              {},
	}
	for id, want := range cases {
		if got := workflowKey(id); got != want {
			t.Errorf("workflowKey(%q) = %+v, want %+v", id, got, want)
		}
	}
}

// TestCheckerCatches feeds the checker a small settled bank, then breaks it
// in one way at a time: each break must fail its invariant and name the
// transfer or key.
func TestCheckerCatches(t *testing.T) {
	const (
		u1, u2  = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
		a1, a2  = "1000000001", "1000000002"
		dep, tr = "dddddddd-0000-0000-0000-000000000001", "eeeeeeee-0000-0000-0000-000000000001"
	)
	build := func() (*snapshot, *Workload) {
		s := &snapshot{
			accounts: []ledgerAccount{
				{Number: systemAccount, Kind: "system", Tier: "TIER_3", Balance: -1000_00},
				{Number: a1, Kind: "customer", Tier: "TIER_1", Balance: 600_00, Owner: u1},
				{Number: a2, Kind: "customer", Tier: "TIER_1", Balance: 400_00, Owner: u2},
			},
			transfers: []ledgerTransfer{
				{ID: dep, Kind: "deposit", KeyOwner: bank.SystemKeyOwner, Reference: "dep-1", From: systemAccount, To: a1,
					ToOwner: u1, Amount: 1000_00, Status: "COMPLETED"},
				{ID: tr, Kind: "transfer", KeyOwner: u1, Reference: "k-1", From: a1, To: a2, FromOwner: u1, ToOwner: u2,
					Amount: 400_00, Status: "COMPLETED"},
			},
			entries: []ledgerEntry{
				{ID: 1, TransferID: dep, Account: systemAccount, Direction: "DEBIT", Amount: 1000_00, BalanceAfter: -1000_00},
				{ID: 2, TransferID: dep, Account: a1, Direction: "CREDIT", Amount: 1000_00, BalanceAfter: 1000_00},
				{ID: 3, TransferID: tr, Account: a1, Direction: "DEBIT", Amount: 400_00, BalanceAfter: 600_00},
				{ID: 4, TransferID: tr, Account: a2, Direction: "CREDIT", Amount: 400_00, BalanceAfter: 400_00},
			},
			notifications: []notification{
				{EventID: "user_created/1", UserID: u1, Type: "ACCOUNT_CREATED"},
				{EventID: "user_created/2", UserID: u2, Type: "ACCOUNT_CREATED"},
				{EventID: "deposit_completed/" + dep, UserID: u1, Type: "DEPOSIT"},
				{EventID: "transfer_completed/" + tr, UserID: u1, Type: "TRANSFER_DEBIT"},
				{EventID: "transfer_completed/" + tr, UserID: u2, Type: "TRANSFER_CREDIT"},
			},
			workflows: []workflowInfo{
				{ID: "deposit/dep-1", Type: "Deposit", Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED},
				{ID: "transfer/" + u1 + "/k-1", Type: "Transfer", Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED},
			},
		}
		w := newWorkload(WorkloadOptions{}, nil, 1, nil)
		w.customers = []*customer{{UserID: u1, Account: a1}, {UserID: u2, Account: a2}}
		w.keys = []*keyRecord{
			{Key: "dep-1", Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, From: systemAccount, To: a1, Amount: 1000_00,
				Answers: []answer{{Status: 201, Completed: true, ID: dep}}},
			{Key: "k-1", Kind: bank.KindTransfer, KeyOwner: u1, From: a1, To: a2, Amount: 400_00, Timeouts: 1,
				Answers: []answer{{Status: 200, Completed: true, ID: tr, Replay: true}}},
		}
		w.observed[4] = observedEntry{Account: a2, ID: 4, Reference: "k-1", Direction: "CREDIT", Amount: 400_00, BalanceAfter: 400_00}
		return s, w
	}
	failing := func(invs []Invariant) map[int]string {
		out := map[int]string{}
		for i, inv := range invs {
			if !inv.OK() {
				out[i+1] = strings.Join(inv.Broken, "\n")
			}
		}
		return out
	}
	s, w := build()
	if f := failing(check(s, w, nil)); len(f) != 0 {
		t.Fatalf("a sound bank fails %v", f)
	}

	breaks := []struct {
		name    string
		breakIt func(s *snapshot, w *Workload)
		want    int    // the invariant that must fail
		names   string // what its report must name
	}{
		{"a posting twice", func(s *snapshot, w *Workload) {
			s.entries = append(s.entries, ledgerEntry{ID: 5, TransferID: tr, Account: a2, Direction: "CREDIT", Amount: 400_00, BalanceAfter: 800_00})
		}, 2, tr},
		{"money from nowhere", func(s *snapshot, w *Workload) { s.accounts[2].Balance++ }, 1, "sum"},
		{"a lost 201", func(s *snapshot, w *Workload) { s.transfers = s.transfers[:1]; s.entries = s.entries[:2] }, 3, tr},
		{"two answers for one key", func(s *snapshot, w *Workload) {
			w.keys[1].Answers = append(w.keys[1].Answers, answer{Status: 422, Code: "INSUFFICIENT_FUNDS"})
		}, 4, "k-1"},
		{"an unresolved key", func(s *snapshot, w *Workload) { w.keys[1].Answers = nil; w.keys[1].Unresolved = true }, 4, "k-1"},
		{"a balance above the tier", func(s *snapshot, w *Workload) {
			s.entries[3].BalanceAfter = 400_000_00
		}, 5, tr},
		{"a missing credit notification", func(s *snapshot, w *Workload) { s.notifications = s.notifications[:4] }, 6, tr},
		{"a notification for an event no transfer explains", func(s *snapshot, w *Workload) {
			s.notifications = append(s.notifications, notification{EventID: "transfer_completed/x-" + tr, UserID: u2, Type: "TRANSFER_CREDIT"})
		}, 6, tr},
		{"a stuck workflow", func(s *snapshot, w *Workload) {
			s.open = []workflowInfo{{ID: "transfer/" + u1 + "/k-1", Type: "Transfer", Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}
		}, 7, tr},
		{"a workflow that failed after the money moved", func(s *snapshot, w *Workload) {
			s.workflows[1].Status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
		}, 7, tr},
		{"a read the ledger lost", func(s *snapshot, w *Workload) {
			w.observed[9] = observedEntry{Account: a2, ID: 9, Reference: "k-9", Direction: "CREDIT", Amount: 1, BalanceAfter: 1}
		}, 8, "k-9"},
	}
	for _, b := range breaks {
		s, w := build()
		b.breakIt(s, w)
		f := failing(check(s, w, nil))
		got, ok := f[b.want]
		if !ok {
			t.Errorf("%s: invariant %d holds; failing: %v", b.name, b.want, f)
			continue
		}
		if !strings.Contains(got, b.names) {
			t.Errorf("%s: invariant %d says %q, want it to name %s", b.name, b.want, got, b.names)
		}
	}
}
