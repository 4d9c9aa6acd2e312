package bank

// CheckUpgrade decides whether an account at tier current may move to
// target with the submitted evidence, given the evidence types the user
// already holds (verified). TIER_2 needs a BVN or NIN; TIER_3 needs an
// ID card in addition to a BVN or NIN.
// Errors: TIER_NOT_HIGHER, VALIDATION_FAILED (evidence of the wrong kind),
// KYC_FAILED (TIER_3 without a BVN or NIN on file).
func CheckUpgrade(current, target Tier, submitted KYCType, onFile []KYCType) error {
	if err := CheckUpgradeRequest(current, target, submitted); err != nil {
		return err
	}
	return CheckEvidence(target, submitted, onFile)
}

// CheckEvidence is the part of CheckUpgrade about evidence already on file:
// TIER_3 needs a BVN or NIN besides the submitted ID card. It is checked
// before the submitted evidence is recorded, so a refused request claims
// no one's identity number. Errors: KYC_FAILED.
func CheckEvidence(target Tier, submitted KYCType, onFile []KYCType) error {
	if target != Tier3 {
		return nil
	}
	for _, t := range append(onFile, submitted) {
		if t == KYCBVN || t == KYCNIN {
			return nil
		}
	}
	return Errorf(CodeKYCFailed, "TIER_3 needs a verified BVN or NIN on file; upgrade to TIER_2 first")
}

// CheckUpgradeRequest is the part of CheckUpgrade that needs no evidence on
// file: the target is higher, and the evidence is of the kind it needs.
func CheckUpgradeRequest(current, target Tier, submitted KYCType) error {
	if !target.Higher(current) {
		return Errorf(CodeTierNotHigher, "the account is already %s; only upgrades are possible", current)
	}
	switch target {
	case Tier2:
		if submitted != KYCBVN && submitted != KYCNIN {
			return Invalid("kyc.type", "TIER_2 needs a BVN or NIN")
		}
	case Tier3:
		if submitted != KYCIDCard {
			return Invalid("kyc.type", "TIER_3 needs an ID_CARD")
		}
	}
	return nil
}

// TierUpgrade is a request to raise an account's tier, with the evidence
// already verified.
type TierUpgrade struct {
	RequestID      string // idempotency key (uuid)
	AccountNumber  string
	UserID         string // the owner asking
	Tier           Tier
	EvidenceType   KYCType
	EvidenceOnFile []KYCType // every type the user holds, this one included

	// Since issue 15 the evidence is claimed under the account's lock, by
	// an upgrade that passes every rule, and the outcome is stored under
	// RequestID with RequestHash (see TierOutcome).
	EvidenceHMAC []byte // KYCDigest of the submitted number
	RequestHash  []byte // TierRequestHash of the request
	// Refused is a refusal decided before the lock (the registry found no
	// match): it is stored under the request id, and nothing is claimed.
	Refused Code
}

// Refusal is the refusal decided before the lock, as an error (nil when
// there is none).
func (u TierUpgrade) Refusal() error {
	if u.Refused == "" {
		return nil
	}
	return Errorf(u.Refused, "the upgrade was refused")
}
