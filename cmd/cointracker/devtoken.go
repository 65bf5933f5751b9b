package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cointracker/cointracker/auth"
	"github.com/cointracker/cointracker/config"
)

// devToken prints a token the dev-mode server accepts for a subject.
func devToken(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	subject := fs.String("subject", "", "the user: the fixtures' demo users are user-1 … user-N")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("dev-token: %w", err)}
	}
	if *subject == "" || fs.NArg() > 0 {
		return usageError{errors.New("dev-token needs --subject NAME and nothing else")}
	}
	if *ttl <= 0 {
		return usageError{errors.New("dev-token: --ttl must be positive")}
	}
	key, err := auth.LoadOrCreateDevKey(cfg.DevKeyFile)
	if err != nil {
		return err
	}
	tok, err := auth.DevToken(key, *subject, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
