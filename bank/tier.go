package bank

// Tier is an account's KYC tier; it decides the account's limits.
type Tier string

// Tiers of the contract, lowest first.
const (
	Tier1 Tier = "TIER_1"
	Tier2 Tier = "TIER_2"
	Tier3 Tier = "TIER_3"
)

// Limits of a tier. A nil limit is unlimited.
type Limits struct {
	SingleTransaction *Money
	MaxBalance        *Money
	// DailyDebit bounds what an account's transfers out may add up to in
	// one Lagos day (see DebitCounter).
	DailyDebit *Money
}

func moneyPtr(m Money) *Money { return &m }

var tierLimits = map[Tier]Limits{
	Tier1: {SingleTransaction: moneyPtr(50_000_00), MaxBalance: moneyPtr(300_000_00), DailyDebit: moneyPtr(100_000_00)},
	Tier2: {SingleTransaction: moneyPtr(200_000_00), MaxBalance: moneyPtr(1_000_000_00), DailyDebit: moneyPtr(500_000_00)},
	Tier3: {},
}

var tierRank = map[Tier]int{Tier1: 1, Tier2: 2, Tier3: 3}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { _, ok := tierRank[t]; return ok }

// Limits returns the tier's limits; an unknown tier gets the strictest. The
// pointers are fresh copies, so a caller cannot change a tier's limits.
func (t Tier) Limits() Limits {
	l, ok := tierLimits[t]
	if !ok {
		l = tierLimits[Tier1]
	}
	return Limits{SingleTransaction: copyMoney(l.SingleTransaction), MaxBalance: copyMoney(l.MaxBalance),
		DailyDebit: copyMoney(l.DailyDebit)}
}

func copyMoney(m *Money) *Money {
	if m == nil {
		return nil
	}
	return moneyPtr(*m)
}

// Higher reports whether t ranks above other.
func (t Tier) Higher(other Tier) bool { return tierRank[t] > tierRank[other] }

// ParseTier validates a tier name from input.
func ParseTier(s string) (Tier, error) {
	t := Tier(s)
	if !t.Valid() {
		return "", Invalid("tier", "must be one of TIER_1, TIER_2, TIER_3")
	}
	return t, nil
}
