package bank

import (
	"strings"
	"time"
)

// Lagos is the bank's calendar: Africa/Lagos keeps UTC+01:00 all year (no
// daylight saving), so a fixed zone is exact and needs no tz database on
// the host.
var Lagos = time.FixedZone("WAT", 60*60)

// DateLayout is how dates travel on the wire: YYYY-MM-DD.
const DateLayout = "2006-01-02"

// MaxStatementDays bounds a statement's period (inclusive): a leap year.
const MaxStatementDays = 366

// Period is a statement's range of Lagos days, both ends inclusive, and the
// instants it covers: every entry with Start <= created_at < End.
type Period struct {
	From, To   string    // YYYY-MM-DD, as echoed
	Start, End time.Time // From's Lagos midnight; the midnight after To
}

// ParsePeriod checks a statement's from and to: dates as YYYY-MM-DD, from
// not after to, at most MaxStatementDays days, and to not after today in
// Lagos (now's day), so a statement never claims days that have not
// happened. Errors: VALIDATION_FAILED naming the field.
func ParsePeriod(from, to string, now time.Time) (Period, error) {
	f, err := parseDate("from", from)
	if err != nil {
		return Period{}, err
	}
	t, err := parseDate("to", to)
	if err != nil {
		return Period{}, err
	}
	if t.Before(f) {
		return Period{}, Invalid("to", "must not be before from")
	}
	today := now.In(Lagos)
	if t.After(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, Lagos)) {
		return Period{}, Invalid("to", "must not be after today (%s in Lagos)", today.Format(DateLayout))
	}
	end := t.AddDate(0, 0, 1)
	// Lagos has no daylight saving, so every day is 24 hours long.
	if days := int(end.Sub(f) / (24 * time.Hour)); days > MaxStatementDays {
		return Period{}, Invalid("to", "a statement covers at most %d days; this range has %d", MaxStatementDays, days)
	}
	return Period{From: from, To: to, Start: f, End: end}, nil
}

// parseDate reads a YYYY-MM-DD date as its Lagos midnight. time.Parse
// alone accepts neither "2026-2-1" nor "2026-02-30", but it does accept
// a few things a date on the wire should not carry, so the shape is
// checked first.
func parseDate(field, s string) (time.Time, error) {
	if len(s) != len(DateLayout) || strings.Trim(s, "0123456789-") != "" || s[4] != '-' || s[7] != '-' {
		return time.Time{}, Invalid(field, "must be a date as YYYY-MM-DD")
	}
	d, err := time.ParseInLocation(DateLayout, s, Lagos)
	if err != nil || d.Year() < 2000 {
		return time.Time{}, Invalid(field, "must be a date as YYYY-MM-DD from 2000-01-01 on")
	}
	return d, nil
}

// StatementSummary is the head of a statement: the balance before the
// period, after it, and what moved in between. Opening + Credits - Debits
// = Closing, always (Balanced).
type StatementSummary struct {
	Opening, Closing Money
	Credits, Debits  Money
	Items            int64 // entries in the period
}

// Balanced reports whether the figures add up, as a statement's must.
func (s StatementSummary) Balanced() bool { return s.Opening+s.Credits-s.Debits == s.Closing }

// HistoryKind is how a transfer of kind k shows in an account's history
// and statements: TRANSFER, DEPOSIT (and REVERSAL once reversals exist).
func (k TransferKind) HistoryKind() string { return strings.ToUpper(string(k)) }
