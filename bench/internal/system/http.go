// Package system drives the bank through its public API: setup (register,
// log in, fund), closed-loop and fixed-rate POST /transfers, live GraphQL
// subscribers timing notifications, and the invariants after the run.
package system

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"
)

// Client is the benchmark's HTTP client: keep-alive connections enough for
// the highest concurrency, no global timeout (contexts bound calls).
type Client struct {
	HTTP *http.Client
}

// NewClient returns a client for up to conns concurrent requests.
func NewClient(conns int) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     60 * time.Second,
	}
	return &Client{HTTP: &http.Client{Transport: tr}}
}

// Do sends a JSON request and returns the status and body.
func (c *Client) Do(ctx context.Context, method, url, token string, body any, headers ...string) (int, []byte, error) {
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rdr)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// code is the problem+json code of an error answer, or "".
func code(body []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Code
}
