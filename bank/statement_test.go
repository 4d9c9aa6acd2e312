package bank

import (
	"errors"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	// 23:30 UTC on 31 March 2026 is already 1 April in Lagos.
	now := time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC)
	p, err := ParsePeriod("2026-03-01", "2026-04-01", now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Start.Equal(time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)) || !p.End.Equal(time.Date(2026, 4, 1, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("period %v .. %v, want Lagos midnights 2026-02-28T23:00Z .. 2026-04-01T23:00Z", p.Start.UTC(), p.End.UTC())
	}
	if p.From != "2026-03-01" || p.To != "2026-04-01" {
		t.Errorf("echo %s..%s", p.From, p.To)
	}

	t.Run("OneDay", func(t *testing.T) {
		p, err := ParsePeriod("2026-03-05", "2026-03-05", now)
		if err != nil || p.End.Sub(p.Start) != 24*time.Hour {
			t.Fatalf("%v %v", p, err)
		}
	})
	t.Run("LeapYearIs366Days", func(t *testing.T) {
		if _, err := ParsePeriod("2024-01-01", "2024-12-31", now); err != nil {
			t.Fatalf("366 days refused: %v", err)
		}
		if _, err := ParsePeriod("2024-01-01", "2025-01-01", now); ErrorCode(err) != CodeValidation {
			t.Fatalf("367 days: %v", err)
		}
		if _, err := ParsePeriod("2025-01-01", "2026-01-01", now); err != nil {
			t.Fatalf("366 days over a common year refused: %v", err)
		}
	})

	bad := []struct{ name, from, to, field string }{
		{"ToBeforeFrom", "2026-03-02", "2026-03-01", "to"},
		{"ToAfterTodayInLagos", "2026-03-01", "2026-04-02", "to"},
		{"TooLong", "2025-03-01", "2026-03-02", "to"},
		{"NoPadding", "2026-3-1", "2026-03-02", "from"},
		{"NotADay", "2026-02-30", "2026-03-02", "from"},
		{"Timestamp", "2026-03-01T00:00:00Z", "2026-03-02", "from"},
		{"Empty", "", "2026-03-02", "from"},
		{"EmptyTo", "2026-03-01", "", "to"},
		{"Signs", "+026-03-01", "2026-03-02", "from"},
		{"BeforeTheBank", "1999-12-31", "2000-01-01", "from"},
		{"Slashes", "2026/03/01", "2026-03-02", "from"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePeriod(c.from, c.to, now)
			var e *Error
			if ErrorCode(err) != CodeValidation || !errors.As(err, &e) || e.Field != c.field {
				t.Fatalf("ParsePeriod(%q, %q) = %v, want VALIDATION_FAILED on %s", c.from, c.to, err, c.field)
			}
		})
	}
}

func TestStatementSummaryBalanced(t *testing.T) {
	if !(StatementSummary{Opening: 100, Credits: 50, Debits: 30, Closing: 120}).Balanced() {
		t.Error("100 + 50 - 30 = 120 is not balanced")
	}
	if (StatementSummary{Opening: 100, Credits: 50, Debits: 30, Closing: 121}).Balanced() {
		t.Error("an off-by-one closing is balanced")
	}
}

func TestHistoryKind(t *testing.T) {
	if KindTransfer.HistoryKind() != "TRANSFER" || KindDeposit.HistoryKind() != "DEPOSIT" {
		t.Errorf("%s %s", KindTransfer.HistoryKind(), KindDeposit.HistoryKind())
	}
}
