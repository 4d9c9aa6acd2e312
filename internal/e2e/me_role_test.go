package e2e

import (
	"testing"

	"github.com/bankcore/bank/internal/testenv"
)

// TestMeNamesTheRole: GET /me's user carries its role, as the contract
// says, so a client knows whether to offer the operators' screens.
func TestMeNamesTheRole(t *testing.T) {
	st := testenv.SharedStack(t)
	customer, _ := signUp(t, st)
	for want, c := range map[string]*testenv.Client{"customer": customer, "operator": operator(t, st)} {
		var me struct {
			User struct {
				Role string `json:"role"`
			} `json:"user"`
		}
		r := c.Do("GET", "/me", nil)
		r.Decode(t, &me)
		if r.Status != 200 || me.User.Role != want {
			t.Errorf("GET /me as a %s: %d role %q", want, r.Status, me.User.Role)
		}
	}
}
