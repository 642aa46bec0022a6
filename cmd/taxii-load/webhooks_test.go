package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/taxii"
	"golang.org/x/crypto/bcrypt"
)

// Ensure that the webhooks scenario runs cleanly against eitaxii with its
// dispatcher, a receiver that fails at first included.
func TestRun_Webhooks(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "eitaxii.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	disp, err := delivery.NewDispatcher(delivery.WebhookOptions{Store: db, AllowHosts: delivery.NewHosts([]string{"127.0.0.1"}),
		MaxChanges: 7, MinBackoff: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := taxii.NewServer(context.Background(), taxii.Options{
		Discovery: taxii.Discovery{Title: "load test", Default: "load"},
		Accounts:  []taxii.Account{{Name: testUser, PasswordHash: string(hash)}},
		Groups: []taxii.Group{{
			Name: "load", Title: "Load test",
			Members:     map[string]taxii.Role{testUser: taxii.RoleAdmin},
			Collections: []taxii.Collection{{ID: testCollID, Title: "Indicators", Alias: "indicators"}},
		}},
		WebhookAllowHosts: []string{"127.0.0.1"}, OnWebhookChange: disp.Notify,
		Logger: quiet,
	}, db, v)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = disp.Run(ctx) }()
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		srv.Close()
		db.Close()
	})

	code, rep, stderr := runJSON(t, "webhooks", "--url", hs.URL, "--objects", "300", "--webhooks", "3",
		"--envelope-size", "20", "--clients", "2", "--fail-for", "100ms", "--duration", "30s")
	checkPassed(t, code, rep, stderr)
	if got := rep.Measures["changes_delivered"]; got != 900 {
		t.Fatalf("changes_delivered=%v, want 900 (3 webhooks x 300)", got)
	}
	if rep.Measures["attempts_refused_503"] == 0 {
		t.Fatal("the receiver refused nothing: --fail-for not applied")
	}
}
