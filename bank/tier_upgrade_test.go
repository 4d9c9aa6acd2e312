package bank

import (
	"errors"
	"fmt"
	"testing"
)

// upgradeCase is one row of the upgrade rules: the account's tier, the
// target, the evidence submitted and the evidence types already on file.
type upgradeCase struct {
	name      string
	current   Tier
	target    Tier
	submitted KYCType
	onFile    []KYCType
	code      Code   // "" is allowed
	field     string // for VALIDATION_FAILED
}

func checkUpgradeErr(t *testing.T, c upgradeCase, err error) {
	t.Helper()
	if c.code == "" {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	var be *Error
	if !errors.As(err, &be) || be == nil {
		t.Fatalf("error = %v (%T), want a *bank.Error %s", err, err, c.code)
	}
	if be.Code != c.code {
		t.Fatalf("code = %s (%v), want %s", be.Code, err, c.code)
	}
	if be.Field != c.field {
		t.Errorf("field = %q, want %q", be.Field, c.field)
	}
	if be.Message == "" {
		t.Error("the error has no caller-safe message")
	}
}

func TestCheckUpgrade(t *testing.T) {
	var (
		none      []KYCType
		nin       = []KYCType{KYCNIN}
		bvn       = []KYCType{KYCBVN}
		idOnly    = []KYCType{KYCIDCard}
		ninAndID  = []KYCType{KYCIDCard, KYCNIN}
		bvnAndID  = []KYCType{KYCBVN, KYCIDCard}
		everyType = []KYCType{KYCBVN, KYCIDCard, KYCNIN}
	)
	cases := []upgradeCase{
		// TIER_2 needs a BVN or NIN, whatever is on file.
		{"T1→T2 with BVN", Tier1, Tier2, KYCBVN, bvn, "", ""},
		{"T1→T2 with NIN", Tier1, Tier2, KYCNIN, nin, "", ""},
		{"T1→T2 with NIN, ID card user", Tier1, Tier2, KYCNIN, []KYCType{KYCIDCard, KYCNIN}, "", ""},
		{"T1→T2 with NIN, nothing on file", Tier1, Tier2, KYCNIN, none, "", ""},
		{"T1→T2 with ID_CARD", Tier1, Tier2, KYCIDCard, everyType, CodeValidation, "kyc.type"},
		{"T1→T2 with unknown type", Tier1, Tier2, KYCType("PASSPORT"), nin, CodeValidation, "kyc.type"},

		// TIER_3 needs an ID card plus a BVN or NIN on file.
		{"T2→T3 with ID_CARD, NIN on file", Tier2, Tier3, KYCIDCard, ninAndID, "", ""},
		{"T2→T3 with ID_CARD, BVN on file", Tier2, Tier3, KYCIDCard, bvnAndID, "", ""},
		{"T1→T3 with ID_CARD, NIN on file", Tier1, Tier3, KYCIDCard, ninAndID, "", ""},
		{"T1→T3 with ID_CARD, only ID cards on file", Tier1, Tier3, KYCIDCard, idOnly, CodeKYCFailed, ""},
		{"T1→T3 with ID_CARD, nothing on file", Tier1, Tier3, KYCIDCard, none, CodeKYCFailed, ""},
		{"T2→T3 with ID_CARD, only ID cards on file", Tier2, Tier3, KYCIDCard, idOnly, CodeKYCFailed, ""},
		{"T2→T3 with NIN", Tier2, Tier3, KYCNIN, everyType, CodeValidation, "kyc.type"},
		{"T2→T3 with BVN", Tier2, Tier3, KYCBVN, everyType, CodeValidation, "kyc.type"},
		{"T1→T3 with NIN, NIN on file", Tier1, Tier3, KYCNIN, nin, CodeValidation, "kyc.type"},

		// Same or lower: TIER_NOT_HIGHER, checked before the evidence.
		{"T1→T1", Tier1, Tier1, KYCNIN, nin, CodeTierNotHigher, ""},
		{"T2→T2", Tier2, Tier2, KYCNIN, everyType, CodeTierNotHigher, ""},
		{"T3→T3", Tier3, Tier3, KYCIDCard, everyType, CodeTierNotHigher, ""},
		{"T2→T1", Tier2, Tier1, KYCNIN, nin, CodeTierNotHigher, ""},
		{"T3→T2", Tier3, Tier2, KYCBVN, everyType, CodeTierNotHigher, ""},
		{"T3→T1", Tier3, Tier1, KYCNIN, everyType, CodeTierNotHigher, ""},
		{"T2→T2 with the wrong kind", Tier2, Tier2, KYCIDCard, none, CodeTierNotHigher, ""},
		{"T3→T3 without BVN or NIN on file", Tier3, Tier3, KYCIDCard, idOnly, CodeTierNotHigher, ""},
		{"T3→T2 with the wrong kind", Tier3, Tier2, KYCIDCard, idOnly, CodeTierNotHigher, ""},
		{"T2→unknown tier", Tier2, Tier("TIER_9"), KYCNIN, everyType, CodeTierNotHigher, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkUpgradeErr(t, c, CheckUpgrade(c.current, c.target, c.submitted, c.onFile))
		})
	}
}

// TestCheckUpgradeRequest is the part the API checks before any registry
// call: it never looks at evidence on file, so the TIER_3 cases that
// CheckUpgrade refuses with KYC_FAILED pass here.
func TestCheckUpgradeRequest(t *testing.T) {
	cases := []upgradeCase{
		{"T1→T2 with BVN", Tier1, Tier2, KYCBVN, nil, "", ""},
		{"T1→T2 with NIN", Tier1, Tier2, KYCNIN, nil, "", ""},
		{"T1→T2 with ID_CARD", Tier1, Tier2, KYCIDCard, nil, CodeValidation, "kyc.type"},
		{"T1→T3 with ID_CARD", Tier1, Tier3, KYCIDCard, nil, "", ""},
		{"T2→T3 with ID_CARD", Tier2, Tier3, KYCIDCard, nil, "", ""},
		{"T2→T3 with NIN", Tier2, Tier3, KYCNIN, nil, CodeValidation, "kyc.type"},
		{"T1→T3 with BVN", Tier1, Tier3, KYCBVN, nil, CodeValidation, "kyc.type"},
		{"T1→T1", Tier1, Tier1, KYCNIN, nil, CodeTierNotHigher, ""},
		{"T2→T2 with the wrong kind", Tier2, Tier2, KYCIDCard, nil, CodeTierNotHigher, ""},
		{"T3→T2", Tier3, Tier2, KYCNIN, nil, CodeTierNotHigher, ""},
		{"T3→T3", Tier3, Tier3, KYCIDCard, nil, CodeTierNotHigher, ""},
		{"T2→T1 with the wrong kind", Tier2, Tier1, KYCIDCard, nil, CodeTierNotHigher, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkUpgradeErr(t, c, CheckUpgradeRequest(c.current, c.target, c.submitted))
		})
	}
}

// TestCheckUpgradeAgreesWithRequest: whatever CheckUpgradeRequest refuses,
// CheckUpgrade refuses with the same code, for every combination.
func TestCheckUpgradeAgreesWithRequest(t *testing.T) {
	tiers := []Tier{Tier1, Tier2, Tier3}
	types := []KYCType{KYCNIN, KYCBVN, KYCIDCard}
	onFiles := [][]KYCType{nil, {KYCNIN}, {KYCBVN}, {KYCIDCard}, {KYCIDCard, KYCNIN}}
	for _, cur := range tiers {
		for _, tgt := range tiers {
			for _, sub := range types {
				for _, of := range onFiles {
					reqErr := CheckUpgradeRequest(cur, tgt, sub)
					err := CheckUpgrade(cur, tgt, sub, of)
					name := fmt.Sprintf("%s→%s %s on file %v", cur, tgt, sub, of)
					if reqErr != nil && ErrorCode(err) != ErrorCode(reqErr) {
						t.Errorf("%s: CheckUpgrade = %v, CheckUpgradeRequest = %v", name, err, reqErr)
					}
					if err == nil && !tgt.Higher(cur) {
						t.Errorf("%s: allowed a move that is not up", name)
					}
				}
			}
		}
	}
}
