package bank

// MaxPageSize bounds a page of a list (history, the operators' transfers).
const MaxPageSize = 100

// TransferFilter selects transfers for the operators' list
// (GET /operator/transfers): every field is optional, and those given must
// all match.
type TransferFilter struct {
	Status    TransferStatus // PENDING_APPROVAL is the approvals queue
	Account   string         // either side's account number
	Reference string
}

// Validate checks the filter's fields. Errors: VALIDATION_FAILED.
func (f TransferFilter) Validate() error {
	if f.Status != "" && !f.Status.Valid() {
		return Invalid("status", "must be one of PENDING, PENDING_APPROVAL, COMPLETED, FAILED")
	}
	if f.Account != "" && !ValidAccountNumber(f.Account) {
		return Invalid("account", "must be an account number of 10 digits")
	}
	if f.Reference != "" {
		if err := ValidateReference("reference", f.Reference); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePageSize checks a list's limit: 1 to MaxPageSize.
func ValidatePageSize(limit int) error {
	if limit < 1 || limit > MaxPageSize {
		return Invalid("limit", "must be 1 to %d", MaxPageSize)
	}
	return nil
}
