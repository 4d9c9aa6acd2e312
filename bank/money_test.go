package bank

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// requireValidation fails t unless err is a VALIDATION_FAILED *Error naming field.
func requireValidation(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error on field %q, got nil", CodeValidation, field)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if e.Code != CodeValidation {
		t.Errorf("code = %q, want %q", e.Code, CodeValidation)
	}
	if e.Field != field {
		t.Errorf("field = %q, want %q", e.Field, field)
	}
	if e.Message == "" {
		t.Errorf("empty message")
	}
}

func TestMaxMoneyIsOneQuadrillionNaira(t *testing.T) {
	if MaxMoney != 100_000_000_000_000_000 {
		t.Fatalf("MaxMoney = %d kobo, want 1e15 naira = 1e17 kobo", int64(MaxMoney))
	}
	if Currency != "NGN" {
		t.Fatalf("Currency = %q, want NGN", Currency)
	}
}

func TestParseMoneyAccepts(t *testing.T) {
	cases := []struct {
		in   string
		want Money
	}{
		{"0", 0},
		{"0.00", 0},
		{"0.0", 0},
		{"000", 0},
		{"1500", 150000},
		{"1500.5", 150050},
		{"1500.50", 150050},
		{"1500.05", 150005},
		{"0.01", 1},
		{"0.1", 10},
		{"0.99", 99},
		{"1", 100},
		{"007", 700},
		{"007.07", 707},
		{"50000", 50_000_00},
		{"300000.00", 300_000_00},
		{"999999999999999.99", MaxMoney - 1},
		{"1000000000000000", MaxMoney},
		{"1000000000000000.00", MaxMoney},
		{"1000000000000000.0", MaxMoney},
		{"0001000000000000000", MaxMoney}, // leading zeros do not count as size
	}
	for _, c := range cases {
		got, err := ParseMoney(c.in)
		if err != nil {
			t.Errorf("ParseMoney(%q): unexpected error %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseMoney(%q) = %d, want %d", c.in, int64(got), int64(c.want))
		}
	}
}

func TestParseMoneyRejects(t *testing.T) {
	cases := []string{
		"", " ", " 1", "1 ", "1 000", "\t1", "1\n",
		"-1", "-0", "+1", "-0.01",
		"1e3", "1E3", "1e-2", "1.5e2",
		"1.", ".5", ".", "..", "1..5", "1.5.0",
		"1.234", "0.001", "1.000",
		"1,000", "1,5", "1_000", "0x10", "0b1", "0o7",
		"NaN", "nan", "Inf", "+Inf", "-Inf", "infinity",
		"１",          // full-width digit one
		"١٢٣",        // Arabic-Indic digits
		"१२",         // Devanagari digits
		"1٫5",        // Arabic decimal separator
		"1\u00a0000", // no-break space
		"1000000000000000.01",
		"1000000000000001",
		"10000000000000000",
		"99999999999999999999",
		"9223372036854775807",
		"9223372036854775808",
		"18446744073709551616",
		strings.Repeat("9", 400),
		"1.5 ", "\"1.50\"", "1.5\x00", "\x001",
		"abc", "1a", "a1", "1.a", "1.-5",
	}
	for _, in := range cases {
		m, err := ParseMoney(in)
		if err == nil {
			t.Errorf("ParseMoney(%q) = %d, want error", in, int64(m))
			continue
		}
		if m != 0 {
			t.Errorf("ParseMoney(%q) returned %d alongside an error", in, int64(m))
		}
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) { requireValidation(t, err, "amount") })
		if _, perr := ParsePositiveMoney(in); perr == nil {
			t.Errorf("ParsePositiveMoney(%q) accepted what ParseMoney refuses", in)
		}
	}
}

func TestParsePositiveMoney(t *testing.T) {
	for _, in := range []string{"0", "0.00", "0.0", "000", "00.00"} {
		m, err := ParsePositiveMoney(in)
		if err == nil {
			t.Errorf("ParsePositiveMoney(%q) = %d, want error", in, int64(m))
			continue
		}
		requireValidation(t, err, "amount")
	}
	for in, want := range map[string]Money{"0.01": 1, "1500.5": 150050, "1000000000000000": MaxMoney} {
		got, err := ParsePositiveMoney(in)
		if err != nil || got != want {
			t.Errorf("ParsePositiveMoney(%q) = %d, %v; want %d", in, int64(got), err, int64(want))
		}
	}
}

func TestMoneyString(t *testing.T) {
	cases := []struct {
		m    Money
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{9, "0.09"},
		{10, "0.10"},
		{99, "0.99"},
		{100, "1.00"},
		{150050, "1500.50"},
		{150005, "1500.05"},
		{150000, "1500.00"},
		{-1, "-0.01"},
		{-10, "-0.10"},
		{-150050, "-1500.50"},
		{MaxMoney, "1000000000000000.00"},
		{-MaxMoney, "-1000000000000000.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
		{math.MinInt64 + 1, "-92233720368547758.07"},
	}
	for _, c := range cases {
		if got := c.m.String(); got != c.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(c.m), got, c.want)
		}
	}
}

var twoDecimals = regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{2}$`)

// TestMoneyStringShapeAndRoundTrip is a property test: for random valid
// amounts String prints two decimals and ParseMoney reads back the same value.
func TestMoneyStringShapeAndRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(20240601, 42))
	check := func(m Money) {
		t.Helper()
		s := m.String()
		if !twoDecimals.MatchString(s) {
			t.Fatalf("Money(%d).String() = %q, not two decimals", int64(m), s)
		}
		got, err := ParseMoney(s)
		if err != nil {
			t.Fatalf("ParseMoney(Money(%d).String() = %q): %v", int64(m), s, err)
		}
		if got != m {
			t.Fatalf("round trip of %d via %q gave %d", int64(m), s, int64(got))
		}
		// The one-decimal and no-decimal spellings mean the same amount.
		if m%10 == 0 {
			if got, err := ParseMoney(strings.TrimSuffix(s, "0")); err != nil || got != m {
				t.Fatalf("ParseMoney(%q) = %d, %v; want %d", strings.TrimSuffix(s, "0"), int64(got), err, int64(m))
			}
		}
		if m%100 == 0 {
			if got, err := ParseMoney(strings.TrimSuffix(s, ".00")); err != nil || got != m {
				t.Fatalf("ParseMoney(%q) = %d, %v; want %d", strings.TrimSuffix(s, ".00"), int64(got), err, int64(m))
			}
		}
	}
	for _, m := range []Money{0, 1, 99, 100, MaxMoney - 1, MaxMoney} {
		check(m)
	}
	for i := 0; i < 20000; i++ {
		var m Money
		switch i % 3 {
		case 0: // anywhere in range
			m = Money(r.Int64N(int64(MaxMoney) + 1))
		case 1: // everyday amounts
			m = Money(r.Int64N(10_000_000_00))
		default: // whole naira
			m = Money(r.Int64N(int64(MaxMoney/100)+1) * 100)
		}
		check(m)
	}
	// Negative amounts (a ledger debit) still print two decimals.
	for i := 0; i < 2000; i++ {
		m := -Money(r.Int64N(math.MaxInt64))
		if s := m.String(); !twoDecimals.MatchString(s) || (m != 0 && !strings.HasPrefix(s, "-")) {
			t.Fatalf("Money(%d).String() = %q", int64(m), s)
		}
	}
}

// wireAmount is the exact shape the contract accepts on the wire.
var wireAmount = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{
		"1500", "1500.5", "1500.50", "0.01", "007", "0", "1000000000000000",
		"1000000000000000.01", "1e3", "-1", "1.", ".5", "１", "99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			if m != 0 {
				t.Fatalf("ParseMoney(%q) returned %d with error", s, int64(m))
			}
			if ErrorCode(err) != CodeValidation {
				t.Fatalf("ParseMoney(%q) error code %q, want %q", s, ErrorCode(err), CodeValidation)
			}
			if pm, perr := ParsePositiveMoney(s); perr == nil {
				t.Fatalf("ParsePositiveMoney(%q) = %d accepted what ParseMoney refused", s, int64(pm))
			}
			return
		}
		if m < 0 || m > MaxMoney {
			t.Fatalf("ParseMoney(%q) = %d, outside [0, MaxMoney]", s, int64(m))
		}
		if !wireAmount.MatchString(s) {
			t.Fatalf("ParseMoney accepted %q, which is not a plain decimal string", s)
		}
		back, err := ParseMoney(m.String())
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d; ParseMoney(%q) = %d, %v", s, int64(m), m.String(), int64(back), err)
		}
		pm, perr := ParsePositiveMoney(s)
		if (m == 0) != (perr != nil) || (perr == nil && pm != m) {
			t.Fatalf("ParsePositiveMoney(%q) = %d, %v; ParseMoney gave %d", s, int64(pm), perr, int64(m))
		}
	})
}
