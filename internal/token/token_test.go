package token

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bankcore/bank/bank"
)

func TestIssueVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	iss := NewIssuer(secret, time.Hour)
	p := Principal{UserID: "6f1c1c0e-0000-4000-8000-000000000001", Role: bank.RoleOperator}
	tok, err := iss.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := iss.Verify(tok)
	if err != nil || got != p {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, p)
	}

	expired := NewIssuer(secret, time.Hour)
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	oldTok, _ := expired.Issue(p)

	otherKey, _ := NewIssuer([]byte("another-secret-another-secret-xx"), time.Hour).Issue(p)

	// alg none: header {"alg":"none"} with our claims and no signature.
	parts := strings.Split(tok, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"sub": p.UserID, "role": "operator", "iss": issuer, "aud": audience,
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(secret)

	noRole, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": p.UserID, "iss": issuer, "aud": audience, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)

	for name, bad := range map[string]string{
		"Expired": oldTok, "WrongSignature": otherKey, "AlgNone": none, "OtherAlg": hs512,
		"NoRole": noRole, "Garbage": "not.a.token", "Empty": "",
		"TamperedPayload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","role":"operator"}`)) + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := iss.Verify(bad); bank.ErrorCode(err) != bank.CodeUnauthenticated {
				t.Fatalf("Verify = %v, want UNAUTHENTICATED", err)
			}
		})
	}
}
