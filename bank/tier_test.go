package bank

import "testing"

func TestTierLimitsMatchContract(t *testing.T) {
	cases := []struct {
		tier                  Tier
		single, maxBal, daily string // "" is unlimited
	}{
		{Tier1, "50000.00", "300000.00", "100000.00"},
		{Tier2, "200000.00", "1000000.00", "500000.00"},
		{Tier3, "", "", ""},
	}
	show := func(m *Money) string {
		if m == nil {
			return ""
		}
		return m.String()
	}
	for _, c := range cases {
		l := c.tier.Limits()
		if got := show(l.SingleTransaction); got != c.single {
			t.Errorf("%s single transaction limit = %q, want %q", c.tier, got, c.single)
		}
		if got := show(l.MaxBalance); got != c.maxBal {
			t.Errorf("%s max balance = %q, want %q", c.tier, got, c.maxBal)
		}
		if got := show(l.DailyDebit); got != c.daily {
			t.Errorf("%s daily debit limit = %q, want %q", c.tier, got, c.daily)
		}
		if a := (Account{Tier: c.tier}).Limits(); show(a.SingleTransaction) != c.single || show(a.MaxBalance) != c.maxBal {
			t.Errorf("Account{Tier: %s}.Limits() disagrees with the tier", c.tier)
		}
	}
	// Exact kobo values, not just their printing.
	if l := Tier1.Limits(); *l.SingleTransaction != 5_000_000 || *l.MaxBalance != 30_000_000 {
		t.Errorf("TIER_1 limits in kobo = %d / %d", *l.SingleTransaction, *l.MaxBalance)
	}
	if l := Tier2.Limits(); *l.SingleTransaction != 20_000_000 || *l.MaxBalance != 100_000_000 {
		t.Errorf("TIER_2 limits in kobo = %d / %d", *l.SingleTransaction, *l.MaxBalance)
	}
	if d1, d2 := *Tier1.Limits().DailyDebit, *Tier2.Limits().DailyDebit; d1 != 10_000_000 || d2 != 50_000_000 {
		t.Errorf("daily debit limits in kobo = %d / %d", d1, d2)
	}
}

func TestTierLimitsAreNotShared(t *testing.T) {
	// A caller that writes through the returned pointer must not change the
	// limits every other account sees.
	l := Tier1.Limits()
	saved := *l.SingleTransaction
	*l.SingleTransaction = MaxMoney
	seen := *Tier1.Limits().SingleTransaction
	*l.SingleTransaction = saved // restore for the other tests either way
	if seen != 5_000_000 {
		t.Fatalf("writing through Tier1.Limits().SingleTransaction changed TIER_1's limit to %s", seen)
	}
	savedDaily := *l.DailyDebit
	*l.DailyDebit = MaxMoney
	seenDaily := *Tier1.Limits().DailyDebit
	*l.DailyDebit = savedDaily
	if seenDaily != 10_000_000 {
		t.Fatalf("writing through Tier1.Limits().DailyDebit changed TIER_1's daily limit to %s", seenDaily)
	}
}

func TestUnknownTierGetsStrictestLimits(t *testing.T) {
	for _, tier := range []Tier{"", "TIER_0", "TIER_4", "tier_3"} {
		l := tier.Limits()
		if l.SingleTransaction == nil || l.MaxBalance == nil || *l.SingleTransaction != 5_000_000 || *l.MaxBalance != 30_000_000 {
			t.Errorf("Tier(%q).Limits() = %+v, want TIER_1's", tier, l)
		}
		if tier.Valid() {
			t.Errorf("Tier(%q).Valid() = true", tier)
		}
	}
}

func TestTierHigher(t *testing.T) {
	order := []Tier{Tier1, Tier2, Tier3}
	for i, a := range order {
		if !a.Valid() {
			t.Errorf("%s.Valid() = false", a)
		}
		for j, b := range order {
			if got, want := a.Higher(b), i > j; got != want {
				t.Errorf("%s.Higher(%s) = %v, want %v", a, b, got, want)
			}
		}
		if a.Higher("TIER_9") != true {
			t.Errorf("%s.Higher(unknown) = false", a)
		}
		if Tier("TIER_9").Higher(a) {
			t.Errorf("unknown tier ranks above %s", a)
		}
	}
}

func TestParseTier(t *testing.T) {
	for _, s := range []string{"TIER_1", "TIER_2", "TIER_3"} {
		got, err := ParseTier(s)
		if err != nil || string(got) != s {
			t.Errorf("ParseTier(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "tier_1", "TIER_0", "TIER_4", "TIER1", " TIER_1", "TIER_1 ", "1", "GOLD"} {
		got, err := ParseTier(s)
		if err == nil {
			t.Errorf("ParseTier(%q) = %q, want error", s, got)
			continue
		}
		if got != "" {
			t.Errorf("ParseTier(%q) returned %q alongside an error", s, got)
		}
		requireValidation(t, err, "tier")
	}
}
