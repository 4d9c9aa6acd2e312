package bank

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeEmailAccepts(t *testing.T) {
	// A 254-character address, the longest allowed.
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".ng"
	if len(long) != 254 {
		t.Fatalf("test setup: len(long) = %d", len(long))
	}
	cases := map[string]string{
		"ada@example.com":              "ada@example.com",
		"Ada@Example.COM":              "ada@example.com",
		"ADA.LOVELACE@EXAMPLE.COM":     "ada.lovelace@example.com",
		"ada.lovelace+bank@mail.co.uk": "ada.lovelace+bank@mail.co.uk",
		"a_b-c@example.ng":             "a_b-c@example.ng",
		"a@b.co":                       "a@b.co",
		long:                           long,
		strings.ToUpper(long):          long,
	}
	for in, want := range cases {
		got, err := NormalizeEmail(in)
		if err != nil {
			t.Errorf("NormalizeEmail(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeEmailRejects(t *testing.T) {
	long255 := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 59) + ".ng"
	if len(long255) != 255 {
		t.Fatalf("test setup: len(long255) = %d", len(long255))
	}
	cases := []string{
		"",
		"ada",
		"ada@",
		"@example.com",
		"ada@example",           // no dot in the domain
		"ada@localhost",         // no dot in the domain
		"ada@@example.com",      // two @
		"ada@example..com",      // empty label
		"ada@.example.com",      // leading dot
		"ada@example.com.",      // trailing dot
		"Ada <ada@example.com>", // display-name form
		"<ada@example.com>",     // angle-addr form
		`"Ada" <ada@example.com>`,
		`"ada"@example.com`,              // needless quotes
		"ada(comment)@example.com",       // comment
		"ada@example.com (Ada Lovelace)", // trailing comment
		"ada@example.com,bob@example.com",
		"ada @example.com",
		"ada@ example.com",
		" ada@example.com",
		"ada@example.com ",
		"ada@example.com\n",
		"ada@example.com\r\nBcc: eve@example.com",
		"\tada@example.com",
		"ada\x00@example.com",
		"аda@example.com", // Cyrillic а (U+0430)
		"ada@exаmple.com", // Cyrillic а in the domain
		"ada＠example.com", // full-width commercial at
		"adä@example.com", // non-ASCII local part
		"ada@exämple.com", // IDN, not punycode
		"ada@example.com\u200b",
		"\xffada@example.com", // invalid UTF-8
		long255,
		strings.Repeat("a", 1000) + "@example.com",
	}
	for _, in := range cases {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			got, err := NormalizeEmail(in)
			if err == nil {
				t.Fatalf("NormalizeEmail(%q) = %q, want error", in, got)
			}
			if got != "" {
				t.Errorf("NormalizeEmail(%q) returned %q alongside an error", in, got)
			}
			requireValidation(t, err, "email")
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	ok := map[string]string{
		"+2348031234567":   "+2348031234567",
		"08031234567":      "+2348031234567",
		"08021234567":      "+2348021234567",
		"08131234567":      "+2348131234567",
		"07031234567":      "+2347031234567",
		"07011234567":      "+2347011234567",
		"09051234567":      "+2349051234567",
		"09161234567":      "+2349161234567",
		"+14155550123":     "+14155550123",     // E.164 elsewhere
		"+44207946000":     "+44207946000",     // 11 digits
		"+12345678":        "+12345678",        // 8 digits, the shortest E.164 we accept
		"+123456789012345": "+123456789012345", // 15 digits, the E.164 maximum
	}
	for in, want := range ok {
		got, err := NormalizePhone(in)
		if err != nil {
			t.Errorf("NormalizePhone(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
	bad := []string{
		"",
		"0803123456",        // local, too short
		"080312345678",      // local, too long
		"+1234567",          // E.164, 7 digits
		"+1234567890123456", // E.164, 16 digits
		"2348031234567",     // no plus
		"+0348031234567",    // country code cannot start with 0
		"+",
		"8031234567",
		"06031234567", // not a Nigerian mobile prefix
		"05031234567",
		"08231234567",
		"00031234567",
		"0803123456a",
		"0803123456O", // letter O for zero
		"+234803123456a",
		"+234 803 123 4567",
		"0803 123 4567",
		"0803-123-4567",
		"(0803)1234567",
		" 08031234567",
		"08031234567 ",
		"08031234567\n",
		"+2348031234567\n",
		"++2348031234567",
		"０8031234567", // full-width zero
		"+２348031234567",
		"٠٨٠٣١٢٣٤٥٦٧", // Arabic-Indic digits
		"phone",
	}
	for _, in := range bad {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			got, err := NormalizePhone(in)
			if err == nil {
				t.Fatalf("NormalizePhone(%q) = %q, want error", in, got)
			}
			requireValidation(t, err, "phone")
		})
	}
}

func TestNormalizeKYCAccepts(t *testing.T) {
	cases := []struct{ in, want KYC }{
		{KYC{KYCNIN, "12345678901"}, KYC{KYCNIN, "12345678901"}},
		{KYC{KYCBVN, "22123456789"}, KYC{KYCBVN, "22123456789"}},
		{KYC{KYCNIN, "00000000000"}, KYC{KYCNIN, "00000000000"}},
		{KYC{KYCNIN, "12345670000"}, KYC{KYCNIN, "12345670000"}}, // well-formed; the mock registry refuses it, not validation
		{KYC{KYCIDCard, "AB1234567"}, KYC{KYCIDCard, "AB1234567"}},
		{KYC{KYCIDCard, "AB12345678"}, KYC{KYCIDCard, "AB12345678"}},
		{KYC{KYCIDCard, "AB123456789"}, KYC{KYCIDCard, "AB123456789"}},
		{KYC{KYCIDCard, "ab1234567"}, KYC{KYCIDCard, "AB1234567"}},
		{KYC{KYCIDCard, "aB123456789"}, KYC{KYCIDCard, "AB123456789"}},
		{KYC{KYCIDCard, "zz9999999"}, KYC{KYCIDCard, "ZZ9999999"}},
	}
	for _, c := range cases {
		got, err := NormalizeKYC(c.in)
		if err != nil {
			t.Errorf("NormalizeKYC(%+v): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("NormalizeKYC(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestNormalizeKYCRejects(t *testing.T) {
	cases := []struct {
		in    KYC
		field string
	}{
		{KYC{"PASSPORT", "A12345678"}, "kyc.type"},
		{KYC{"", "12345678901"}, "kyc.type"},
		{KYC{"nin", "12345678901"}, "kyc.type"},
		{KYC{"NIN ", "12345678901"}, "kyc.type"},
		{KYC{"id_card", "AB1234567"}, "kyc.type"},
		{KYC{"PASSPORT", "garbage"}, "kyc.type"}, // the type is checked first

		{KYC{KYCNIN, ""}, "kyc.number"},
		{KYC{KYCNIN, "1234567890"}, "kyc.number"},   // 10 digits
		{KYC{KYCNIN, "123456789012"}, "kyc.number"}, // 12 digits
		{KYC{KYCBVN, "1234567890"}, "kyc.number"},
		{KYC{KYCBVN, "123456789012"}, "kyc.number"},
		{KYC{KYCNIN, "1234567890a"}, "kyc.number"},
		{KYC{KYCNIN, "12345 678901"}, "kyc.number"},
		{KYC{KYCNIN, " 12345678901"}, "kyc.number"},
		{KYC{KYCNIN, "12345678901\n"}, "kyc.number"},
		{KYC{KYCNIN, "-1234567890"}, "kyc.number"},
		{KYC{KYCBVN, "１２３４５６７８９０１"}, "kyc.number"}, // full-width digits
		{KYC{KYCBVN, "AB1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "12345678901"}, "kyc.number"}, // a NIN is not an ID card
		{KYC{KYCIDCard, ""}, "kyc.number"},
		{KYC{KYCIDCard, "AB123456"}, "kyc.number"},     // 6 digits
		{KYC{KYCIDCard, "AB1234567890"}, "kyc.number"}, // 10 digits
		{KYC{KYCIDCard, "A1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "ABC1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "1A1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "AB 1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "AB-1234567"}, "kyc.number"},
		{KYC{KYCIDCard, " AB1234567"}, "kyc.number"},
		{KYC{KYCIDCard, "AB1234567\n"}, "kyc.number"},
		{KYC{KYCIDCard, "АВ1234567"}, "kyc.number"}, // Cyrillic А and В
		{KYC{KYCIDCard, "ſA1234567"}, "kyc.number"}, // long s, upper-cases to S
		{KYC{KYCIDCard, "ıD1234567"}, "kyc.number"}, // dotless i, upper-cases to I
		{KYC{KYCIDCard, "ＡＢ1234567"}, "kyc.number"}, // full-width letters
		{KYC{KYCIDCard, "AB\xff1234567"}, "kyc.number"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%q", c.in.Type, c.in.Number), func(t *testing.T) {
			got, err := NormalizeKYC(c.in)
			if err == nil {
				t.Fatalf("NormalizeKYC(%+v) = %+v, want error", c.in, got)
			}
			if got != (KYC{}) {
				t.Errorf("NormalizeKYC(%+v) returned %+v alongside an error", c.in, got)
			}
			requireValidation(t, err, c.field)
			// The message must not echo the number: it may be logged or shown.
			if c.in.Number != "" && strings.Contains(ErrorMessage(err), c.in.Number) {
				t.Errorf("error message %q echoes the KYC number", ErrorMessage(err))
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	ok := []string{
		"abcdefghij", // 10 ASCII
		"correct horse battery staple",
		strings.Repeat("ñ", 10), // 10 runes, 20 bytes
		strings.Repeat("😀", 10), // 10 runes, 40 bytes
		strings.Repeat("é", 36), // 72 bytes, the bcrypt limit
		strings.Repeat("x", 72),
		"          ", // ten spaces: length is all that is checked
	}
	for _, p := range ok {
		if err := ValidatePassword(p); err != nil {
			t.Errorf("ValidatePassword(%q) (%d runes, %d bytes): %v", p, utf8.RuneCountInString(p), len(p), err)
		}
	}
	bad := []string{
		"",
		"abcdefghi",                   // 9
		strings.Repeat("😀", 9),        // 9 runes although 36 bytes
		strings.Repeat("x", 73),       // bcrypt would silently truncate
		strings.Repeat("é", 36) + "a", // 73 bytes
		strings.Repeat("😀", 19),       // 19 runes, 76 bytes
		strings.Repeat("x", 1000),
		"abcdefghi\xff", // invalid UTF-8
	}
	for _, p := range bad {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			err := ValidatePassword(p)
			requireValidation(t, err, "password")
			if len(p) >= 4 && strings.Contains(err.Error(), p) {
				t.Errorf("error %q echoes the password", err)
			}
		})
	}
}

func TestNormalizeFullName(t *testing.T) {
	ok := map[string]string{
		"Ada Lovelace":                       "Ada Lovelace",
		"  Ada Lovelace \t\n":                "Ada Lovelace",
		"\u00a0Ada\u00a0":                    "Ada",
		"Chinụa Achebe":                      "Chinụa Achebe",
		"Ọláolúwa Ẹ̀kọ́":                     "Ọláolúwa Ẹ̀kọ́",
		"O'Brien-Smith":                      "O'Brien-Smith",
		strings.Repeat("é", 100):             strings.Repeat("é", 100),
		" " + strings.Repeat("a", 100) + " ": strings.Repeat("a", 100),
	}
	for in, want := range ok {
		got, err := NormalizeFullName(in)
		if err != nil {
			t.Errorf("NormalizeFullName(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormalizeFullName(%q) = %q, want %q", in, got, want)
		}
	}
	bad := []string{
		"",
		"   ",
		"\t\n",
		strings.Repeat("a", 101),
		strings.Repeat("é", 101),
		"Ada\nLovelace",
		"Ada\x00",
		"Ada\x1b[31mLovelace",
		"Ada\u0085Lovelace",       // NEL, a C1 control
		"Ada\u200dLovelace",       // zero-width joiner
		"Ada\u200bLovelace",       // zero-width space
		"Ada\u202eecalevoL",       // right-to-left override
		"\ufeffAda",               // byte-order mark
		"Ada\u2066Lovelace\u2069", // bidi isolates
		"Ada\xffLovelace",         // invalid UTF-8
	}
	for _, in := range bad {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			got, err := NormalizeFullName(in)
			if err == nil {
				t.Fatalf("NormalizeFullName(%q) = %q, want error", in, got)
			}
			requireValidation(t, err, "full_name")
		})
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func FuzzNormalizeKYC(f *testing.F) {
	f.Add("NIN", "12345678901")
	f.Add("BVN", "22123456789")
	f.Add("ID_CARD", "ab1234567")
	f.Add("ID_CARD", "ſA1234567")
	f.Add("PASSPORT", "A1234567")
	f.Fuzz(func(t *testing.T, typ, number string) {
		in := KYC{Type: KYCType(typ), Number: number}
		out, err := NormalizeKYC(in)
		if err != nil {
			if f := fieldOf(err); ErrorCode(err) != CodeValidation || (f != "kyc.type" && f != "kyc.number") {
				t.Fatalf("NormalizeKYC(%+v): unexpected error %#v", in, err)
			}
			if out != (KYC{}) {
				t.Fatalf("NormalizeKYC(%+v) returned %+v alongside an error", in, out)
			}
			return
		}
		if out.Type != in.Type {
			t.Fatalf("NormalizeKYC changed the type %q to %q", in.Type, out.Type)
		}
		// Only ASCII letters and digits are ever accepted; the only change is
		// upper-casing ASCII letters.
		if !isASCII(in.Number) || !isASCII(out.Number) || !strings.EqualFold(in.Number, out.Number) || out.Number != strings.ToUpper(out.Number) {
			t.Fatalf("NormalizeKYC(%+v) = %+v", in, out)
		}
		again, err := NormalizeKYC(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: NormalizeKYC(%+v) = %+v, %v", out, again, err)
		}
		if !bytesEqual(KYCDigest([]byte("k"), out), KYCDigest([]byte("k"), again)) {
			t.Fatalf("digest of canonical evidence unstable")
		}
	})
}

var canonicalPhone = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+2348031234567", "08031234567", "09161234567", "+14155550123", "0803 123 4567", "+234803123456a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizePhone(s)
		if err != nil {
			if ErrorCode(err) != CodeValidation || fieldOf(err) != "phone" || out != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %#v", s, out, err)
			}
			return
		}
		if !canonicalPhone.MatchString(out) {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", s, out)
		}
		if strings.HasPrefix(s, "+") {
			if out != s {
				t.Fatalf("NormalizePhone(%q) changed an E.164 number to %q", s, out)
			}
		} else if len(s) != 11 || out != "+234"+s[1:] {
			t.Fatalf("NormalizePhone(%q) = %q", s, out)
		}
		again, err := NormalizePhone(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: NormalizePhone(%q) = %q, %v", out, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Ada@Example.COM", "Ada <a@b.c>", "аda@example.com", `"a.."@b.c`, "a@[1.2.3.4]", "a@b.c (x)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail(s)
		if err != nil {
			if ErrorCode(err) != CodeValidation || fieldOf(err) != "email" || out != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %#v", s, out, err)
			}
			return
		}
		if len(out) == 0 || len(out) > 254 || !isASCII(out) || out != strings.ToLower(out) {
			t.Fatalf("NormalizeEmail(%q) = %q: want non-empty lower-case ASCII of at most 254 bytes", s, out)
		}
		if !strings.EqualFold(s, out) || len(s) != len(out) {
			t.Fatalf("NormalizeEmail(%q) = %q: more than a case change", s, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] == 0x7f {
				t.Fatalf("NormalizeEmail(%q) = %q contains a space or control byte", s, out)
			}
		}
		local, domain, ok := strings.Cut(out, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") {
			t.Fatalf("NormalizeEmail(%q) = %q: not local@domain.tld", s, out)
		}
		again, err := NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: NormalizeEmail(%q) = %q, %v", out, again, err)
		}
		if EmailDigest(s) != EmailDigest(out) {
			t.Fatalf("EmailDigest differs between %q and its normal form %q", s, out)
		}
	})
}

func fieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Field
	}
	return ""
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
