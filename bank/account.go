package bank

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"time"
)

// Account is a customer account as clients see it.
type Account struct {
	ID            int64  `json:"-"`
	AccountNumber string `json:"account_number"`
	OwnerID       string `json:"owner_id"`
	Tier          Tier   `json:"tier"`
	Balance       Money  `json:"balance"`
	// AvailableBalance is the balance less the account's active holds:
	// what it may spend.
	AvailableBalance Money `json:"available_balance"`
	// DailyDebitUsed is what counts against today's daily limit (Lagos
	// day, as the store's clock reads it).
	DailyDebitUsed Money     `json:"daily_debit_used"`
	CreatedAt      time.Time `json:"created_at"`
}

// Limits returns the account's limits under its tier.
func (a Account) Limits() Limits { return a.Tier.Limits() }

// NewAccountNumber returns a random 10-digit account number: nine random
// digits (first one non-zero) and a Luhn check digit, so typos are caught
// before a lookup and numbers reveal nothing about order of creation.
func NewAccountNumber() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	body := 100_000_000 + binary.BigEndian.Uint64(b[:])%900_000_000
	s := strconv.FormatUint(body, 10)
	return s + strconv.Itoa(luhnCheckDigit(s))
}

// ValidAccountNumber reports whether s has the shape of an account number:
// 10 digits with a valid check digit.
func ValidAccountNumber(s string) bool {
	if len(s) != 10 || !allDigits(s) {
		return false
	}
	return int(s[9]-'0') == luhnCheckDigit(s[:9])
}

func luhnCheckDigit(digits string) int {
	sum := 0
	double := true // the check digit will sit to the right
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}
