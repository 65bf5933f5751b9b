package config

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// RedactURL describes a connection string for logs and /debug/config from
// its parsed form (pgconn.ParseConfig, as the pool reads it): the user,
// every host and port, and the database, and nothing else, so no form of
// password (in the URL's user part, a password or sslpassword parameter,
// a quoted key=value pair) can reach the output. An unparseable string is
// described as such, never echoed.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return "(unparseable connection string)"
	}
	hosts := []string{hostPort(cfg.Host, cfg.Port)}
	for _, f := range cfg.Fallbacks {
		if h := hostPort(f.Host, f.Port); !slices.Contains(hosts, h) {
			hosts = append(hosts, h) // sslmode=prefer lists each host twice
		}
	}
	return "postgres://" + url.PathEscape(cfg.User) + "@" + strings.Join(hosts, ",") + "/" + url.PathEscape(cfg.Database)
}

func hostPort(host string, port uint16) string {
	return host + ":" + strconv.Itoa(int(port))
}

// RedactError renders err with any password in secret removed. Driver
// errors may quote the connection string they failed to parse.
func RedactError(err error, secret string) string {
	msg := err.Error()
	for _, p := range passwords(secret) {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// passwordParam finds a password or sslpassword value in a key=value DSN
// (spaces around "=" allowed, the value bare or single-quoted) or a URL's
// query.
var passwordParam = regexp.MustCompile(`(?i)(?:^|[\s?&])(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)`)

// passwords finds every secret in a URL or DSN that may appear in a
// message, raw, unquoted and escaped, even when the string does not
// parse.
func passwords(dsn string) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		add(cfg.Password)
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		p, _ := u.User.Password()
		add(p)
	}
	for _, m := range passwordParam.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		add(v)
		if unquoted, ok := strings.CutPrefix(v, "'"); ok {
			add(strings.ReplaceAll(strings.TrimSuffix(unquoted, "'"), `\'`, "'"))
		}
		if unescaped, err := url.QueryUnescape(v); err == nil {
			add(unescaped)
		}
	}
	return out
}
