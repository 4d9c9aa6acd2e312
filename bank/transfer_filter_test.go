package bank

import (
	"errors"
	"testing"
)

func TestTransferFilterValidate(t *testing.T) {
	for _, f := range []TransferFilter{
		{},
		{Status: StatusPendingApproval},
		{Status: StatusFailed, Account: "1234567897", Reference: "inv-2026.01:a_b"},
	} {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, c := range []struct {
		f     TransferFilter
		field string
	}{
		{TransferFilter{Status: "pending_approval"}, "status"},
		{TransferFilter{Status: "APPROVED"}, "status"},
		{TransferFilter{Account: "123456789"}, "account"},
		{TransferFilter{Account: "1234567890"}, "account"}, // bad check digit
		{TransferFilter{Account: "12345678ab"}, "account"},
		{TransferFilter{Reference: "has space"}, "reference"},
		{TransferFilter{Reference: string(make([]byte, 65))}, "reference"},
	} {
		err := c.f.Validate()
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeValidation || e.Field != c.field {
			t.Errorf("%+v: %v, want VALIDATION_FAILED on %s", c.f, err, c.field)
		}
	}
}

func TestValidatePageSize(t *testing.T) {
	for _, n := range []int{1, 20, MaxPageSize} {
		if err := ValidatePageSize(n); err != nil {
			t.Errorf("%d: %v", n, err)
		}
	}
	for _, n := range []int{-1, 0, MaxPageSize + 1} {
		if ErrorCode(ValidatePageSize(n)) != CodeValidation {
			t.Errorf("%d accepted", n)
		}
	}
}
