// Package kyc verifies identity evidence against a registry (NIN, BVN,
// ID card). The registry here is a mock with the real call's shape: a client
// with a per-call timeout in front of a Registry interface, so a real
// provider (an HTTP client implementing Registry) replaces MockRegistry
// without touching callers.
package kyc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bankcore/bank/bank"
)

// Match is a registry's answer to a lookup.
type Match bool

// Registry is the identity provider. Lookup answers whether the registry
// holds the evidence; an error is a transport failure or timeout (retryable).
type Registry interface {
	Lookup(ctx context.Context, k bank.KYC) (Match, error)
}

// Client calls a Registry with a timeout.
type Client struct {
	Registry Registry
	Timeout  time.Duration
}

// Verify returns nil when the evidence is verified, and otherwise a bank
// error: KYC_FAILED when the registry has no match and VALIDATION_FAILED
// for malformed evidence (both final), KYC_UNAVAILABLE when the registry
// did not answer within the timeout (retryable). Any other error is a
// transport failure, retryable too.
func (c *Client) Verify(ctx context.Context, k bank.KYC) error {
	k, err := bank.NormalizeKYC(k)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	m, err := c.Registry.Lookup(ctx, k)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// Typed, so operators can tell a slow provider from a broken one.
			return bank.Errorf(bank.CodeKYCUnavailable, "kyc registry timed out")
		}
		return fmt.Errorf("kyc lookup: %w", err)
	}
	if !m {
		return bank.Errorf(bank.CodeKYCFailed, "the %s could not be verified", k.Type)
	}
	return nil
}

// MockRegistry is the development registry: a well-formed number is verified
// unless it ends in 0000 (no match); a number ending in 9999 times out on its
// first two lookups and is verified on the third, to exercise retries.
type MockRegistry struct {
	mu    sync.Mutex
	calls map[string]int
}

// NewMockRegistry returns an empty mock registry.
func NewMockRegistry() *MockRegistry { return &MockRegistry{calls: map[string]int{}} }

// Lookup implements Registry.
func (m *MockRegistry) Lookup(ctx context.Context, k bank.KYC) (Match, error) {
	switch {
	case strings.HasSuffix(k.Number, "0000"):
		return false, nil
	case strings.HasSuffix(k.Number, "9999"):
		m.mu.Lock()
		key := string(k.Type) + ":" + k.Number
		m.calls[key]++
		n := m.calls[key]
		m.mu.Unlock()
		if n <= 2 {
			<-ctx.Done() // a provider that hangs until the client gives up
			return false, ctx.Err()
		}
	}
	return true, nil
}
