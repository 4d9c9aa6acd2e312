package bank

import (
	"math"
	"testing"
	"time"
)

func TestLagosDay(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		at   time.Time
		want Day
	}{
		// Lagos midnight is 23:00 UTC the evening before.
		{utc("2026-12-04T22:59:59.999999999Z"), "2026-12-04"},
		{utc("2026-12-04T23:00:00Z"), "2026-12-05"},
		{utc("2026-12-05T00:00:00Z"), "2026-12-05"}, // UTC midnight is 01:00 in Lagos: the same day
		{utc("2026-12-05T22:59:59Z"), "2026-12-05"},
		// The same instants written in other zones.
		{utc("2026-12-05T00:30:00+01:00"), "2026-12-05"},
		{utc("2026-12-04T23:59:59+01:00"), "2026-12-04"},
		{utc("2026-12-04T18:00:00-05:00"), "2026-12-05"}, // 23:00 UTC
		// No daylight saving: midsummer in Europe changes nothing here.
		{utc("2026-07-01T22:59:59Z"), "2026-07-01"},
		{utc("2026-07-01T23:00:00Z"), "2026-07-02"},
		// Year and leap-day ends.
		{utc("2026-12-31T23:00:00Z"), "2027-01-01"},
		{utc("2028-02-28T23:00:00Z"), "2028-02-29"},
		{utc("2028-02-29T23:00:00Z"), "2028-03-01"},
	} {
		if got := LagosDay(c.at); got != c.want {
			t.Errorf("LagosDay(%s) = %s, want %s", c.at.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

func TestDayStart(t *testing.T) {
	d := Day("2026-12-05")
	start := d.Start()
	if want := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Fatalf("Start = %s, want %s", start.UTC(), want)
	}
	if LagosDay(start) != d || LagosDay(start.Add(-time.Nanosecond)) != "2026-12-04" ||
		LagosDay(start.Add(24*time.Hour-time.Nanosecond)) != d || LagosDay(start.Add(24*time.Hour)) != "2026-12-06" {
		t.Error("Start is not where LagosDay changes")
	}
	if !Day("").Start().IsZero() || !Day("2026-13-01").Start().IsZero() {
		t.Error("a Day that is not a date has a start")
	}
}

func TestDebitCounter(t *testing.T) {
	const d1, d2, d3 Day = "2026-12-04", "2026-12-05", "2026-12-06"
	for _, c := range []struct {
		name   string
		got    DebitCounter
		want   DebitCounter
		onDay2 Money // what the result says of d2
	}{
		{"empty counter counts a first debit", DebitCounter{}.Count(d2, 10_00), DebitCounter{d2, 10_00}, 10_00},
		{"same day adds up", DebitCounter{d2, 10_00}.Count(d2, 5_00), DebitCounter{d2, 15_00}, 15_00},
		{"a new day starts over", DebitCounter{d1, 90_000_00}.Count(d2, 5_00), DebitCounter{d2, 5_00}, 5_00},
		{"yesterday's counter says nothing of today", DebitCounter{d1, 90_000_00}, DebitCounter{d1, 90_000_00}, 0},
		{"release on the same day gives back", DebitCounter{d2, 15_00}.Uncount(d2, 10_00), DebitCounter{d2, 5_00}, 5_00},
		{"release to zero", DebitCounter{d2, 15_00}.Uncount(d2, 15_00), DebitCounter{d2, 0}, 0},
		// A transfer accepted on d2 and released on d3, after the counter
		// moved on to d3: d3's sum is not d2's business.
		{"release of an earlier day leaves today alone", DebitCounter{d3, 7_00}.Uncount(d2, 5_00), DebitCounter{d3, 7_00}, 0},
		{"an unlimited account's counter stops at the largest amount", DebitCounter{d2, math.MaxInt64 - 5}.Count(d2, 6),
			DebitCounter{d2, math.MaxInt64}, math.MaxInt64},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("counter = %+v, want %+v", c.got, c.want)
			}
			if on := c.got.On(d2); on != c.onDay2 {
				t.Errorf("On(%s) = %s, want %s", d2, on, c.onDay2)
			}
		})
	}
}

func TestCountsAgainstDay(t *testing.T) {
	for _, c := range []struct {
		kind   TransferKind
		status TransferStatus
		want   bool
	}{
		{KindTransfer, StatusCompleted, true},
		{KindTransfer, StatusPendingApproval, true},
		{KindTransfer, StatusFailed, false},
		{KindTransfer, StatusPending, false},
		{KindDeposit, StatusCompleted, false},
		{"reversal", StatusCompleted, false},
	} {
		if got := CountsAgainstDay(c.kind, c.status); got != c.want {
			t.Errorf("CountsAgainstDay(%s, %s) = %v, want %v", c.kind, c.status, got, c.want)
		}
	}
}
