package api

import (
	"time"

	"github.com/bankcore/bank/bank"
)

// Wire shapes of the contract. Money is always a two-decimal string.

type userView struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	FullName string `json:"full_name"`
}

// meView is GET /me's user: the contract adds the role, so a client (the
// console) knows whether to offer the operators' screens.
type meView struct {
	userView
	Role bank.Role `json:"role"`
}

type limitsView struct {
	SingleTransaction *string `json:"single_transaction"`
	MaxBalance        *string `json:"max_balance"`
}

type accountView struct {
	AccountNumber string     `json:"account_number"`
	OwnerID       string     `json:"owner_id"`
	Tier          bank.Tier  `json:"tier"`
	Balance       string     `json:"balance"`
	Currency      string     `json:"currency"`
	Limits        limitsView `json:"limits"`
	CreatedAt     time.Time  `json:"created_at"`
}

func viewUser(u bank.User) userView {
	return userView{ID: u.ID, Email: u.Email, FullName: u.FullName}
}

func moneyString(m *bank.Money) *string {
	if m == nil {
		return nil
	}
	s := m.String()
	return &s
}

func viewAccount(a bank.Account) accountView {
	l := a.Limits()
	return accountView{
		AccountNumber: a.AccountNumber,
		OwnerID:       a.OwnerID,
		Tier:          a.Tier,
		Balance:       a.Balance.String(),
		Currency:      bank.Currency,
		Limits:        limitsView{SingleTransaction: moneyString(l.SingleTransaction), MaxBalance: moneyString(l.MaxBalance)},
		CreatedAt:     a.CreatedAt.UTC(),
	}
}
