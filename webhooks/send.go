package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Message is a delivery's JSON body, as the specification shapes it.
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// Result is what one delivery attempt got.
type Result struct {
	// Status is the endpoint's HTTP status (0 when none came).
	Status  int
	Latency time.Duration
	// Err says why no 2xx came: a refused address, a timeout, a non-2xx.
	Err error
}

// OK reports a 2xx answer: the endpoint took the message.
func (r Result) OK() bool { return r.Err == nil }

// maxResponseBytes bounds how much of an endpoint's answer is read (and
// thrown away): enough to reuse the connection, never a sink.
const maxResponseBytes = 64 << 10

// Send POSTs body to url as message msgID, signed at now with each key,
// and reports the outcome.
func Send(ctx context.Context, c *http.Client, url, msgID string, body []byte, now time.Time, keys ...[]byte) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("build the request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cointracker-webhooks/1")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Signature(msgID, now, body, keys...))
	start := time.Now()
	res, err := c.Do(req)
	r := Result{Latency: time.Since(start)}
	if err != nil {
		r.Err = fmt.Errorf("deliver: %w", err)
		return r
	}
	defer func() { _ = res.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponseBytes))
	r.Status, r.Latency = res.StatusCode, time.Since(start)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		r.Err = fmt.Errorf("the endpoint answered %d", res.StatusCode)
	}
	return r
}
