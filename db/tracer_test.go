package db_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/db/dbtest"
)

func TestQueryLogging(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pool, err := db.Connect(ctx, dbtest.NewURL(t), db.PoolOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := db.NewStore(pool).UpsertUser(ctx, db.UserUpsertParams{Issuer: "https://issuer.test", Subject: "secret-subject"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "query=UserUpsert") || !strings.Contains(out, "duration=") {
		t.Fatalf("no debug line naming the query:\n%s", out)
	}
	if strings.Contains(out, "secret-subject") {
		t.Fatal("query arguments were logged")
	}
}
