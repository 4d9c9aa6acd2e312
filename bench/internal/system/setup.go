package system

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// Setup is what setting up the users cost. CPU figures are nil when the
// process was not measured; BcryptCost is 0 when unknown (an API the bench
// did not start).
type Setup struct {
	Users                      int      `json:"users"`
	Concurrency                int      `json:"concurrency"`
	BcryptCost                 int      `json:"bcrypt_cost"`
	RegisterSec                float64  `json:"register_sec"`
	RegistrationsPS            float64  `json:"registrations_per_sec"`
	RegisterP50ms              float64  `json:"register_p50_ms"`
	RegisterP99ms              float64  `json:"register_p99_ms"`
	LoginSec                   float64  `json:"login_sec"`
	LoginsPS                   float64  `json:"logins_per_sec"`
	DepositSec                 float64  `json:"deposit_sec"`
	DepositsPS                 float64  `json:"deposits_per_sec"`
	ServerCPUmsPerRegistration *float64 `json:"server_cpu_ms_per_registration"`
	BankACPUmsPerRegistration  *float64 `json:"bank_a_cpu_ms_per_registration"`
	SelfCPUmsPerRegistration   float64  `json:"self_cpu_ms_per_registration"`
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
// and returns them with per-call latencies. run makes emails and KYC
// numbers unique to this run (an API the bench did not start keeps earlier
// runs' users). A 202 is followed through GET /auth/registrations/{id}.
func Register(ctx context.Context, c *Client, base, run string, n, conc int) ([]User, []time.Duration, error) {
	if n > 99_999 {
		return nil, nil, fmt.Errorf("register: at most 99999 users, not %d", n)
	}
	users := make([]User, n)
	lat := make([]time.Duration, n)
	seed := kycSeed(run)
	err := parallel(ctx, n, conc, func(ctx context.Context, i int) error {
		u := User{Email: fmt.Sprintf("bench-%s-%d@example.com", run, i), Password: "correct-horse-bench-" + strconv.Itoa(i)}
		body := map[string]any{
			"email": u.Email, "password": u.Password, "full_name": "Bench User " + strconv.Itoa(i),
			"phone": fmt.Sprintf("0803%07d", i),
			"kyc":   map[string]string{"type": "NIN", "number": kycNumber(seed, i)},
		}
		t0 := time.Now()
		status, raw, err := c.Do(ctx, "POST", base+"/auth/register", "", body)
		if err == nil && status == 202 {
			status, raw, err = awaitRegistration(ctx, c, base, raw)
		}
		lat[i] = time.Since(t0)
		if err != nil {
			return fmt.Errorf("register %d: %w", i, err)
		}
		if status == 429 {
			return fmt.Errorf("register %d: 429 %s: the API limits registrations per client address; run it with BANK_RATE_REGISTER=0 (and BANK_RATE_LOGIN_FAILURES=0) to benchmark it", i, code(raw))
		}
		if status != 201 && status != 200 {
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

// kycSeed turns the run's token into five digits.
func kycSeed(run string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(run))
	return int(h.Sum32() % 100_000)
}

// kycNumber is user i's NIN: 11 digits, the run's seed, i, and a final 1,
// so it never ends in 0000 or 9999 (the mock registry's no-match and slow
// cases) and differs between runs (IDENTITY_IN_USE otherwise).
func kycNumber(seed, i int) string { return fmt.Sprintf("%05d%05d1", seed, i) }

// awaitRegistration follows a 202 until the registration is no longer
// pending (at most a minute) and answers as the POST would have: 200 with
// the user and account, or the problem's status and body.
func awaitRegistration(ctx context.Context, c *Client, base string, accepted []byte) (int, []byte, error) {
	var p struct {
		ID string `json:"registration_id"`
	}
	if err := json.Unmarshal(accepted, &p); err != nil || p.ID == "" {
		return 0, nil, fmt.Errorf("202 without registration_id: %s", accepted)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		status, raw, err := c.Do(ctx, "GET", base+"/auth/registrations/"+p.ID, "", nil)
		if err != nil || status != 200 {
			return status, raw, err
		}
		var r struct {
			Status string          `json:"status"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return 0, nil, fmt.Errorf("registration %s: body %s", p.ID, raw)
		}
		switch r.Status {
		case "COMPLETED":
			return 200, raw, nil
		case "FAILED":
			var pr struct {
				Status int `json:"status"`
			}
			_ = json.Unmarshal(r.Error, &pr)
			return pr.Status, r.Error, nil
		}
		if time.Now().After(deadline) {
			return 202, raw, nil
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
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
