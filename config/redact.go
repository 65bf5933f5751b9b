package config

import (
	"net/url"
	"strings"
)

// RedactURL returns a database URL with its password replaced, for logs.
// A key=value DSN has its password=… pair replaced instead.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	fields := strings.Fields(raw)
	for i, f := range fields {
		if strings.HasPrefix(strings.ToLower(f), "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
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

// passwords finds the password in a URL or DSN, raw and escaped, so it can
// be scrubbed from messages.
func passwords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(strings.ToLower(f), "password="); ok && v != "" {
			out = append(out, f[len("password="):])
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
