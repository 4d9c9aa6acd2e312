package bank

import (
	"strconv"
	"testing"
)

func TestNewAccountNumberShape(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	nums := make([]int64, 0, n)
	firstDigits := make(map[byte]int)
	dups := 0
	for i := 0; i < n; i++ {
		s := NewAccountNumber()
		if len(s) != 10 || !allDigits(s) {
			t.Fatalf("NewAccountNumber() = %q, want 10 digits", s)
		}
		if s[0] == '0' {
			t.Fatalf("NewAccountNumber() = %q starts with 0", s)
		}
		if !ValidAccountNumber(s) {
			t.Fatalf("NewAccountNumber() = %q fails ValidAccountNumber", s)
		}
		if seen[s] {
			dups++
		}
		seen[s] = true
		firstDigits[s[0]]++
		v, _ := strconv.ParseInt(s, 10, 64)
		nums = append(nums, v)
	}
	// Numbers are drawn at random from 900 million, so among 10,000 a
	// repeat is expected 0.055 times (the birthday bound n²/2N); the store's
	// unique index and a retry deal with it. Three or more would mean a bias
	// (chance about 3e-5 for a uniform draw), not bad luck.
	if dups > 2 {
		t.Fatalf("%d repeated account numbers in %d draws; a uniform draw gives 0.055 on average", dups, n)
	}
	// Not sequential: in generation order the steps are neither constant nor
	// of one sign, so a number says nothing about the next one.
	var up, down int
	equalSteps := true
	for i := 1; i < len(nums); i++ {
		d := nums[i] - nums[i-1]
		if d > 0 {
			up++
		} else if d < 0 {
			down++
		}
		if i > 1 && d != nums[1]-nums[0] {
			equalSteps = false
		}
	}
	if equalSteps {
		t.Fatalf("account numbers advance by a constant step %d", nums[1]-nums[0])
	}
	// For random numbers each direction is ~50%; demand at least 40%.
	if up < n*4/10 || down < n*4/10 {
		t.Fatalf("steps up %d, down %d of %d: numbers look ordered", up, down, n-1)
	}
	// Every leading digit 1..9 occurs (the first digit is uniform, ~1111 each).
	for d := byte('1'); d <= '9'; d++ {
		if firstDigits[d] < 800 {
			t.Errorf("leading digit %c occurred %d times in %d numbers", d, firstDigits[d], n)
		}
	}
}

func TestValidAccountNumber(t *testing.T) {
	// Known Luhn-valid and invalid values (the classic 79927398713).
	valid := []string{"1234567897", "7992739875", "1000000008", "9999999999", "4901542037"}
	for _, s := range valid {
		if !ValidAccountNumber(s) {
			t.Errorf("ValidAccountNumber(%q) = false", s)
		}
	}
	invalid := []string{
		"", "123456789", "12345678970", "1234567890", "1234567898", "7992739871", "9999999995",
		"123456789a", "12345 6789", " 1234567897", "1234567897\n",
		"-234567897", "+234567897", "１234567897"[:10], "１２３４５６７８９７",
	}
	for _, s := range invalid {
		if ValidAccountNumber(s) {
			t.Errorf("ValidAccountNumber(%q) = true", s)
		}
	}
}

func TestAccountNumberCatchesTypos(t *testing.T) {
	var singles, singleCaught, swaps, swapCaught int
	for i := 0; i < 2_000; i++ {
		s := NewAccountNumber()
		b := []byte(s)
		// Every single-digit substitution, the check digit included.
		for pos := 0; pos < 10; pos++ {
			orig := b[pos]
			for d := byte('0'); d <= '9'; d++ {
				if d == orig {
					continue
				}
				b[pos] = d
				singles++
				if !ValidAccountNumber(string(b)) {
					singleCaught++
				} else {
					t.Errorf("substitution %s -> %s not detected", s, b)
				}
			}
			b[pos] = orig
		}
		// Every adjacent transposition of two different digits.
		for pos := 0; pos < 9; pos++ {
			if b[pos] == b[pos+1] {
				continue
			}
			b[pos], b[pos+1] = b[pos+1], b[pos]
			swaps++
			if !ValidAccountNumber(string(b)) {
				swapCaught++
			} else if pair := string([]byte{b[pos], b[pos+1]}); pair != "09" && pair != "90" {
				// Luhn misses exactly the 0<->9 transposition, nothing else.
				t.Errorf("transposition %s -> %s not detected", s, b)
			}
			b[pos], b[pos+1] = b[pos+1], b[pos]
		}
	}
	if singleCaught != singles {
		t.Errorf("single-digit typos detected %d of %d", singleCaught, singles)
	}
	if rate := float64(swapCaught) / float64(swaps); rate < 0.97 {
		t.Errorf("adjacent transpositions detected %.3f (%d of %d), want >= 0.97", rate, swapCaught, swaps)
	} else {
		t.Logf("single-digit typos detected %d/%d; adjacent transpositions %d/%d (%.2f%%)", singleCaught, singles, swapCaught, swaps, 100*rate)
	}
}
