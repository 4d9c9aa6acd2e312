package bank

import "testing"

func TestDecideTierRequest(t *testing.T) {
	h := TierRequestHash([]byte("k"), "1234567890", Tier2, KYC{Type: KYCBVN, Number: "12345678901"})
	other := TierRequestHash([]byte("k"), "1234567890", Tier2, KYC{Type: KYCBVN, Number: "12345678902"})
	for name, tc := range map[string]struct {
		stored *TierOutcome
		want   TierDecision
	}{
		"NothingStored":  {nil, TierNew},
		"SameUpgraded":   {&TierOutcome{RequestHash: h}, TierReplay},
		"SameRefused":    {&TierOutcome{RequestHash: h, Refusal: CodeTierNotHigher}, TierReplayRefusal},
		"OtherUpgraded":  {&TierOutcome{RequestHash: other}, TierKeyReused},
		"OtherRefused":   {&TierOutcome{RequestHash: other, Refusal: CodeKYCFailed}, TierKeyReused},
		"NoHashRecorded": {&TierOutcome{}, TierKeyReused},
	} {
		if got := DecideTierRequest(tc.stored, h); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// The hash covers every part of the request and needs the key.
func TestTierRequestHash(t *testing.T) {
	k := KYC{Type: KYCBVN, Number: "12345678901"}
	base := string(TierRequestHash([]byte("k"), "1234567890", Tier2, k))
	for name, h := range map[string][]byte{
		"Account": TierRequestHash([]byte("k"), "1234567891", Tier2, k),
		"Tier":    TierRequestHash([]byte("k"), "1234567890", Tier3, k),
		"Type":    TierRequestHash([]byte("k"), "1234567890", Tier2, KYC{Type: KYCNIN, Number: k.Number}),
		"Number":  TierRequestHash([]byte("k"), "1234567890", Tier2, KYC{Type: KYCBVN, Number: "12345678902"}),
		"Key":     TierRequestHash([]byte("other"), "1234567890", Tier2, k),
	} {
		if string(h) == base {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
}
