package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/taxii"
)

// Ensure that the webhooks scenario runs cleanly against eitaxii with its
// dispatcher, a receiver that fails at first included.
func TestRun_Webhooks(t *testing.T) {
	db, v, hash := openTestStore(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	disp, err := delivery.NewDispatcher(delivery.WebhookOptions{Store: db, AllowHosts: delivery.NewHosts([]string{"127.0.0.1"}),
		MaxChanges: 7, MinBackoff: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = disp.Run(ctx) }()
	// Stopped after the server, before the store closes.
	t.Cleanup(func() {
		cancel()
		<-done
	})
	opts := testOptions(hash)
	opts.Groups[0].Members[testUser] = taxii.RoleAdmin // manages webhooks
	opts.WebhookAllowHosts, opts.OnWebhookChange = []string{"127.0.0.1"}, disp.Notify
	url, _ := serveTest(t, opts, db, v)

	code, rep, stderr := runJSON(t, "webhooks", "--url", url, "--objects", "300", "--webhooks", "3",
		"--envelope-size", "20", "--clients", "2", "--fail-for", "100ms", "--duration", "30s")
	checkPassed(t, code, rep, stderr)
	if got := rep.Measures["changes_delivered"]; got != 900 {
		t.Fatalf("changes_delivered=%v, want 900 (3 webhooks x 300)", got)
	}
	if rep.Measures["attempts_refused_503"] == 0 {
		t.Fatal("the receiver refused nothing: --fail-for not applied")
	}
}
