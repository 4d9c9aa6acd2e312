package bank

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role decides what a token may do.
type Role string

// Roles.
const (
	RoleCustomer Role = "customer"
	RoleOperator Role = "operator"
)

// User is a customer or an operator. The password hash never leaves the
// auth store except to check a password.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Phone     string    `json:"phone,omitempty"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// KYCType names a kind of identity evidence.
type KYCType string

// KYC evidence types.
const (
	KYCNIN    KYCType = "NIN"
	KYCBVN    KYCType = "BVN"
	KYCIDCard KYCType = "ID_CARD"
)

// KYC is one piece of identity evidence as the customer sent it.
type KYC struct {
	Type   KYCType `json:"type"`
	Number string  `json:"number"`
}

var (
	elevenDigits = regexp.MustCompile(`^[0-9]{11}$`)
	idCard       = regexp.MustCompile(`^[A-Za-z]{2}[0-9]{7,9}$`) // ASCII only: checked before upper-casing
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	ngLocal      = regexp.MustCompile(`^0[789][01][0-9]{8}$`)
)

// NormalizeKYC validates evidence and returns it in canonical form (ID card
// letters upper-cased).
func NormalizeKYC(k KYC) (KYC, error) {
	switch k.Type {
	case KYCNIN, KYCBVN:
		if !elevenDigits.MatchString(k.Number) {
			return KYC{}, Invalid("kyc.number", "%s must be 11 digits", k.Type)
		}
	case KYCIDCard:
		// Check before upper-casing: strings.ToUpper maps non-ASCII
		// look-alikes such as 'ſ' (U+017F) and 'ı' (U+0131) to 'S' and 'I'.
		if !idCard.MatchString(k.Number) {
			return KYC{}, Invalid("kyc.number", "ID_CARD must be 2 letters followed by 7 to 9 digits")
		}
		k.Number = strings.ToUpper(k.Number)
	default:
		return KYC{}, Invalid("kyc.type", "must be one of NIN, BVN, ID_CARD")
	}
	return k, nil
}

// NormalizeEmail validates an email address and returns it lower-cased, the
// form in which it is unique. Only plain ASCII addresses are accepted: no
// display names, comments or look-alike characters.
func NormalizeEmail(s string) (string, error) {
	if s == "" || len(s) > 254 {
		return "", Invalid("email", "must be an email address of at most 254 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "", Invalid("email", "must be a plain ASCII email address")
		}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", Invalid("email", "must be an email address such as ada@example.com")
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", Invalid("email", "must be an email address such as ada@example.com")
	}
	return strings.ToLower(s), nil
}

// NormalizePhone accepts E.164 (+2348012345678) or Nigerian local format
// (08012345678) and returns E.164.
func NormalizePhone(s string) (string, error) {
	switch {
	case e164.MatchString(s):
		return s, nil
	case ngLocal.MatchString(s):
		return "+234" + s[1:], nil
	}
	return "", Invalid("phone", "must be E.164 (+2348012345678) or Nigerian local format (08012345678)")
}

// Password bounds: bcrypt reads at most 72 bytes, so longer passwords are
// refused rather than silently truncated.
const (
	MinPasswordRunes = 10
	MaxPasswordBytes = 72
)

// ValidatePassword checks a new password's length.
func ValidatePassword(p string) error {
	if !utf8.ValidString(p) || utf8.RuneCountInString(p) < MinPasswordRunes {
		return Invalid("password", "must be at least %d characters", MinPasswordRunes)
	}
	if len(p) > MaxPasswordBytes {
		return Invalid("password", "must be at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// NormalizeFullName trims a name and refuses empty, overlong or
// control-character names.
func NormalizeFullName(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n == 0 || n > 100 {
		return "", Invalid("full_name", "must be 1 to 100 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", Invalid("full_name", "must not contain control or invisible characters")
		}
	}
	return s, nil
}

// NewCustomer is what a registration writes.
type NewCustomer struct {
	RegistrationID string // the registration workflow id
	Fingerprint    []byte // HMAC of the canonical request (no password)
	Email          string // normalised (lower-case)
	FullName       string
	Phone          string
	PasswordHash   string
	KYCType        KYCType
	KYCNumberHMAC  []byte
}

// Credentials is a user with the secrets a login or a retried registration
// checks. It never leaves the process that read it.
type Credentials struct {
	User         User
	PasswordHash string
	Fingerprint  []byte
}
