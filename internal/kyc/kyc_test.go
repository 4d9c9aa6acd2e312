package kyc

import (
	"context"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
)

func TestClientVerify(t *testing.T) {
	c := &Client{Registry: NewMockRegistry(), Timeout: 20 * time.Millisecond}
	ctx := context.Background()

	t.Run("Verified", func(t *testing.T) {
		if err := c.Verify(ctx, bank.KYC{Type: bank.KYCNIN, Number: "12345678901"}); err != nil {
			t.Fatalf("Verify = %v, want nil", err)
		}
		if err := c.Verify(ctx, bank.KYC{Type: bank.KYCIDCard, Number: "ab1234567"}); err != nil {
			t.Fatalf("Verify(lower-case id card) = %v, want nil", err)
		}
	})
	t.Run("NoMatch", func(t *testing.T) {
		err := c.Verify(ctx, bank.KYC{Type: bank.KYCBVN, Number: "12345670000"})
		if bank.ErrorCode(err) != bank.CodeKYCFailed {
			t.Fatalf("Verify = %v, want KYC_FAILED", err)
		}
	})
	t.Run("TimesOutTwiceThenVerifies", func(t *testing.T) {
		k := bank.KYC{Type: bank.KYCNIN, Number: "12345679999"}
		for i := 1; i <= 2; i++ {
			if err := c.Verify(ctx, k); bank.ErrorCode(err) != bank.CodeKYCUnavailable {
				t.Fatalf("call %d: Verify = %v, want KYC_UNAVAILABLE (the registry timed out)", i, err)
			}
		}
		if err := c.Verify(ctx, k); err != nil {
			t.Fatalf("third call: Verify = %v, want nil", err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		err := c.Verify(ctx, bank.KYC{Type: bank.KYCNIN, Number: "123"})
		if bank.ErrorCode(err) != bank.CodeValidation {
			t.Fatalf("Verify = %v, want VALIDATION_FAILED", err)
		}
	})
}
