package system

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bankcore/bank/bank"
)

// User is a registered, logged-in customer with one account.
type User struct {
	Email, Password string
	ID              string
	Account         string
	Token           string
	Funded          bank.Money
}

// Setup is what setting up the users cost.
type Setup struct {
	Users                      int     `json:"users"`
	Concurrency                int     `json:"concurrency"`
	BcryptCost                 int     `json:"bcrypt_cost"`
	RegisterSec                float64 `json:"register_sec"`
	RegistrationsPS            float64 `json:"registrations_per_sec"`
	RegisterP50ms              float64 `json:"register_p50_ms"`
	RegisterP99ms              float64 `json:"register_p99_ms"`
	LoginSec                   float64 `json:"login_sec"`
	LoginsPS                   float64 `json:"logins_per_sec"`
	DepositSec                 float64 `json:"deposit_sec"`
	DepositsPS                 float64 `json:"deposits_per_sec"`
	ServerCPUmsPerRegistration float64 `json:"server_cpu_ms_per_registration"`
	SelfCPUmsPerRegistration   float64 `json:"self_cpu_ms_per_registration"`
}

// parallel runs f(i) for i in [0, n) on conc workers; the first error stops it.
func parallel(ctx context.Context, n, conc int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// Register registers n users through POST /auth/register with conc callers
// and returns them with per-call latencies.
func Register(ctx context.Context, c *Client, base, run string, n, conc int) ([]User, []time.Duration, error) {
	users := make([]User, n)
	lat := make([]time.Duration, n)
	err := parallel(ctx, n, conc, func(ctx context.Context, i int) error {
		u := User{Email: fmt.Sprintf("bench-%s-%d@example.com", run, i), Password: "correct-horse-bench-" + strconv.Itoa(i)}
		body := map[string]any{
			"email": u.Email, "password": u.Password, "full_name": "Bench User " + strconv.Itoa(i),
			"phone": fmt.Sprintf("0803%07d", i),
			// 11 digits, unique per user, never ending in 0000 or 9999
			// (the mock registry's no-match and slow cases).
			"kyc": map[string]string{"type": "NIN", "number": fmt.Sprintf("%07d%04d", i, 1000+i%8000)},
		}
		t0 := time.Now()
		status, raw, err := c.Do(ctx, "POST", base+"/auth/register", "", body)
		lat[i] = time.Since(t0)
		if err != nil {
			return fmt.Errorf("register %d: %w", i, err)
		}
		if status != 201 {
			return fmt.Errorf("register %d: %d %s", i, status, raw)
		}
		var out struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Account struct {
				AccountNumber string `json:"account_number"`
			} `json:"account"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.User.ID == "" || out.Account.AccountNumber == "" {
			return fmt.Errorf("register %d: unexpected body %s", i, raw)
		}
		u.ID, u.Account = out.User.ID, out.Account.AccountNumber
		users[i] = u
		return nil
	})
	return users, lat, err
}

// Login logs in as email and returns the access token.
func Login(ctx context.Context, c *Client, base, email, password string) (string, error) {
	status, raw, err := c.Do(ctx, "POST", base+"/auth/login", "", map[string]string{"email": email, "password": password})
	if err != nil {
		return "", err
	}
	if status != 200 {
		return "", fmt.Errorf("login %s: %d %s", email, status, raw)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("login %s: body %s", email, raw)
	}
	return tok.AccessToken, nil
}

// LoginAll logs every user in.
func LoginAll(ctx context.Context, c *Client, base string, users []User, conc int) error {
	return parallel(ctx, len(users), conc, func(ctx context.Context, i int) error {
		tok, err := Login(ctx, c, base, users[i].Email, users[i].Password)
		users[i].Token = tok
		return err
	})
}

// Fund deposits amount into every user's account as the operator.
func Fund(ctx context.Context, c *Client, base, operatorToken, run string, users []User, amount bank.Money, conc int) error {
	return parallel(ctx, len(users), conc, func(ctx context.Context, i int) error {
		status, raw, err := c.Do(ctx, "POST", base+"/accounts/"+users[i].Account+"/deposits", operatorToken, map[string]string{
			"reference": "fund-" + run + "-" + strconv.Itoa(i), "amount": amount.String(), "narration": "benchmark funding",
		})
		if err != nil {
			return fmt.Errorf("deposit %d: %w", i, err)
		}
		if status != 201 {
			return fmt.Errorf("deposit %d: %d %s", i, status, raw)
		}
		users[i].Funded = amount
		return nil
	})
}
