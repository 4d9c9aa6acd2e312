package bank

import (
	"strconv"
	"strings"
)

// Currency is the only currency the bank holds.
const Currency = "NGN"

// Money is an amount in minor units (kobo). It is never a float: storage is
// BIGINT and the wire format is a decimal string in major units.
type Money int64

// MaxMoney bounds every amount accepted on the wire: 1e15 major units.
const MaxMoney Money = 1_000_000_000_000_000 * 100

// ParseMoney parses a wire amount: digits, optionally a dot and one or two
// decimals ("1500", "1500.5", "1500.50"). Signs, exponents, spaces, leading
// or trailing dots and values above 1e15 are refused. Zero is accepted here;
// callers that need a positive amount use ParsePositiveMoney.
func ParseMoney(s string) (Money, error) {
	if s == "" {
		return 0, Invalid("amount", "must be a decimal string such as \"1500.00\"")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || len(frac) > 2 || !allDigits(frac))) {
		return 0, Invalid("amount", "must be a decimal string with at most two decimals, such as \"1500.50\"")
	}
	// Leading zeros are harmless ("007" is 7) but a number of 17 or more
	// significant digits is beyond 1e15 whatever it says.
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 16 {
		return 0, Invalid("amount", "must not exceed 1000000000000000")
	}
	major := int64(0)
	if whole != "" {
		v, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, Invalid("amount", "must not exceed 1000000000000000")
		}
		major = v
	}
	minor := int64(0)
	if hasDot {
		if len(frac) == 1 {
			frac += "0"
		}
		v, _ := strconv.ParseInt(frac, 10, 64) // two checked digits
		minor = v
	}
	m := Money(major*100 + minor)
	if m > MaxMoney {
		return 0, Invalid("amount", "must not exceed 1000000000000000")
	}
	return m, nil
}

// ParsePositiveMoney is ParseMoney for amounts that move money: zero is refused.
func ParsePositiveMoney(s string) (Money, error) {
	m, err := ParseMoney(s)
	if err != nil {
		return 0, err
	}
	if m == 0 {
		return 0, Invalid("amount", "must be greater than zero")
	}
	return m, nil
}

// String formats m in major units with exactly two decimals ("1500.50").
func (m Money) String() string {
	neg := m < 0
	u := uint64(m) //nolint:gosec // reinterpreted, then negated below: exact for every int64
	if neg {
		u = -u // two's complement: exact even for MinInt64
	}
	s := strconv.FormatUint(u/100, 10) + "." + twoDigits(u%100)
	if neg {
		return "-" + s
	}
	return s
}

func twoDigits(v uint64) string {
	if v < 10 {
		return "0" + strconv.FormatUint(v, 10)
	}
	return strconv.FormatUint(v, 10)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
