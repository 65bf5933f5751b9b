package webhooks_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cointracker/cointracker/webhooks"
)

// TestSignatureMatchesTheSpecification checks Signature against the
// specification's own example (spec/standard-webhooks.md, "Signature
// scheme": secret MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, message
// msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, body
// {"test": 2432232314}) and against the reference Go library.
func TestSignatureMatchesTheSpecification(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got := webhooks.Signature("msg_p5jXN8AQM9LWM0D4loKWxJek", at, body, key)
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want the specification's %s", got, want)
	}
	wh, err := standardwebhooks.NewWebhook(webhooks.SecretString(key))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", got)
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		t.Fatalf("the reference library refuses our signature: %v", err)
	}
	// During a rotation either key verifies.
	other := webhooks.NewKey()
	h.Set("webhook-signature", webhooks.Signature("msg_p5jXN8AQM9LWM0D4loKWxJek", at, body, other, key))
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		t.Fatalf("the old key's signature beside the new one: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://example.com/hooks":            true,
		"https://example.com:8443/h?x=1":       true,
		"https://93.184.216.34/h":              true,
		"http://example.com/hooks":             false, // https only
		"ftp://example.com/":                   false,
		"/hooks":                               false,
		"https://user:pw@example.com/":         false,
		"https://example.com/#frag":            false,
		"https://localhost/":                   false,
		"https://api.localhost/":               false,
		"https://127.0.0.1/":                   false,
		"https://10.1.2.3/":                    false,
		"https://192.168.0.10/":                false,
		"https://172.16.5.5/":                  false,
		"https://169.254.169.254/latest/meta":  false, // cloud metadata
		"https://100.64.0.1/":                  false, // carrier-grade NAT
		"https://0.0.0.0/":                     false,
		"https://[::1]/":                       false,
		"https://[fd00::1]/":                   false,
		"https://[fe80::1]/":                   false,
		"https://[::ffff:127.0.0.1]/":          false,
		"https://" + strings.Repeat("a", 2050): false,
	} {
		if why := webhooks.CheckURL(raw, webhooks.URLRules{}); (why == "") != ok {
			t.Errorf("CheckURL(%.60q) = %q, want ok %v", raw, why, ok)
		}
	}
	if why := webhooks.CheckURL("http://example.com/", webhooks.URLRules{AllowHTTP: true}); why != "" {
		t.Errorf("http with the development setting: %s", why)
	}
	if why := webhooks.CheckURL("https://10.0.0.7/", webhooks.URLRules{AllowPrivate: true}); why != "" {
		t.Errorf("a private host when allowed: %s", why)
	}
}

// TestClientRefusesPrivateAddressesAfterResolution dials a receiver on
// loopback through names and literals: the guarded client refuses each
// after resolution, follows no redirect, and the receiver hears nothing.
func TestClientRefusesPrivateAddressesAfterResolution(t *testing.T) {
	var hits atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer rcv.Close()
	port := rcv.URL[strings.LastIndex(rcv.URL, ":"):]
	strict := webhooks.NewClient(webhooks.ClientOptions{Timeout: 5 * time.Second})
	for _, u := range []string{rcv.URL, "http://localhost" + port, "http://[::ffff:127.0.0.1]" + port} {
		res := webhooks.Send(context.Background(), strict, u, "msg_1", []byte(`{}`), time.Now(), webhooks.NewKey())
		if res.OK() || !errors.Is(res.Err, webhooks.ErrRefusedAddress) {
			t.Errorf("%s: %+v, want a refused address", u, res)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	// Private, link-local (cloud metadata), carrier-grade NAT and unique
	// local addresses are refused by the dialer itself, before any packet
	// leaves (so without a network to reach them here).
	dial := strict.Transport.(*http.Transport).DialContext
	for _, addr := range []string{"10.0.0.1:443", "192.168.1.1:443", "172.16.0.1:443", "169.254.169.254:80",
		"100.64.0.1:443", "[fd00::1]:443", "[fe80::1]:443", "0.0.0.0:443"} {
		if conn, err := dial(context.Background(), "tcp", addr); !errors.Is(err, webhooks.ErrRefusedAddress) {
			if conn != nil {
				_ = conn.Close()
			}
			t.Errorf("dial %s: %v, want a refused address", addr, err)
		}
	}

	// A redirect is an answer, not a way elsewhere.
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	open := webhooks.NewClient(webhooks.ClientOptions{Timeout: 5 * time.Second, AllowPrivate: true})
	res := webhooks.Send(context.Background(), open, redirect.URL, "msg_2", []byte(`{}`), time.Now(), webhooks.NewKey())
	if res.OK() || res.Status != http.StatusTemporaryRedirect || hits.Load() != 0 {
		t.Fatalf("redirect: %+v, target hit %d times", res, hits.Load())
	}
}
