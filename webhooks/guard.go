package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURLBytes bounds an endpoint's URL.
const MaxURLBytes = 2048

// URLRules are the settings CheckURL applies.
type URLRules struct {
	// AllowHTTP accepts http as well as https (development).
	AllowHTTP bool
	// AllowPrivate accepts loopback and private hosts (a single-tenant
	// install delivering inside its own network; tests).
	AllowPrivate bool
}

// CheckURL returns why raw is refused as an endpoint, or "": an absolute
// https URL without credentials or fragment, whose host is a name or a
// public IP address (as r relaxes). A name is checked again when it is
// dialled (NewClient): what it resolves to then is what counts.
func CheckURL(raw string, r URLRules) string {
	if len(raw) > MaxURLBytes {
		return fmt.Sprintf("must be at most %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return "must be an absolute URL such as https://example.com/hooks"
	case u.Scheme != "https" && (!r.AllowHTTP || u.Scheme != "http"):
		return "must use https"
	case u.User != nil:
		return "must not carry credentials"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment"
	case r.AllowPrivate:
		return ""
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := refusedAddr(ip); why != "" {
			return "must not point at " + why
		}
	} else if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return "must not point at the loopback network"
	}
	return ""
}

// refusedAddr says which kind of address ip is when an endpoint may not
// be there: loopback, private (RFC 1918, unique local), link-local (and
// with it the cloud metadata address 169.254.169.254), unspecified,
// multicast, carrier-grade NAT (100.64.0.0/10) or another reserved range;
// "" for a public address.
func refusedAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "the loopback network"
	case ip.IsPrivate():
		return "a private network"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address (cloud metadata among them)"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return "a reserved network (" + p.String() + ")"
		}
	}
	return ""
}

// reserved are ranges the netip predicates leave out.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 reaches IPv4 inside
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

// ErrRefusedAddress is a dial the guard stopped: the endpoint's name
// resolved to an address it may not reach.
var ErrRefusedAddress = errors.New("refused address")

// ClientOptions shape the delivery client.
type ClientOptions struct {
	// Timeout bounds one delivery, connection to last byte.
	Timeout time.Duration
	// AllowPrivate lets deliveries reach any address: for tests whose
	// receiver listens on loopback only.
	AllowPrivate bool
}

// NewClient returns the HTTP client deliveries go through. Its dialer
// checks every address it connects to after DNS resolution (so a name
// that resolves to 127.0.0.1, or that changes to it after the URL was
// accepted, is refused), it follows no redirect (a redirect could lead
// anywhere; a 3xx is a failed delivery), and it uses no proxy from the
// environment.
func NewClient(o ClientOptions) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !o.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s is not an IP address", ErrRefusedAddress, address)
			}
			if why := refusedAddr(ap.Addr()); why != "" {
				return fmt.Errorf("%w: %s is %s", ErrRefusedAddress, ap.Addr(), why)
			}
			return nil
		}
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
