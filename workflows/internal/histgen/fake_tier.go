package main

import (
	"context"
	"errors"

	"github.com/bankcore/bank/bank"
)

// UpgradeTier is not exercised by the recorded histories.
func (fakeAccounts) UpgradeTier(context.Context, bank.TierUpgrade) (bank.Account, error) {
	return bank.Account{}, errors.New("histgen: tier upgrades are not recorded")
}
