package system

import (
	"strings"
	"testing"
)

func TestKYCNumbersAreValidAndDifferBetweenRuns(t *testing.T) {
	seen := map[string]bool{}
	for _, run := range []string{"a1b2c3", "d4e5f6"} {
		seed := kycSeed(run)
		for _, i := range []int{0, 1, 9999, 99_999} {
			n := kycNumber(seed, i)
			if len(n) != 11 || strings.Trim(n, "0123456789") != "" {
				t.Fatalf("kycNumber(%d, %d) = %q: not 11 digits", seed, i, n)
			}
			if strings.HasSuffix(n, "0000") || strings.HasSuffix(n, "9999") {
				t.Fatalf("kycNumber(%d, %d) = %q: the mock registry's no-match or slow case", seed, i, n)
			}
			if seen[n] {
				t.Fatalf("kycNumber(%d, %d) = %q: seen before", seed, i, n)
			}
			seen[n] = true
		}
	}
}
