package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/taxii"
)

// newAuthTestServer starts an in-process eitaxii with the load account
// and n accounts poller-00001... (password testPassword, tokens from
// accountToken with seed 1), all readers of the collection, /metrics open
// to loopback, and 2 failed logins allowed per address per minute (so that
// a flood reaches the limit within a short run).
func newAuthTestServer(t *testing.T, n int) string {
	t.Helper()
	url, _ := newTestServerWith(t, func(o *taxii.Options, hash string) {
		members := o.Groups[0].Members
		for i := 1; i <= n; i++ {
			sum := sha256.Sum256([]byte(accountToken(1, "poller-", i)))
			name := accountName("poller-", i)
			o.Accounts = append(o.Accounts, taxii.Account{Name: name, PasswordHash: hash, TokenHashes: []string{hex.EncodeToString(sum[:])}})
			members[name] = taxii.RoleReader
		}
		o.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.LoginLimit = taxii.LoginLimit{PerAddress: 2}
	})
	return url
}

// Ensure that loginflood runs cleanly, that its flood is answered 429 once
// the address is past its failed-login limit (--flood-min 10 makes the
// flood last until ten of its requests were answered, however slow the
// machine, and the limit allows two), and that it reports the
// bcrypt verifications the flood cost: no more than the limit allowed.
func TestRun_LoginFlood(t *testing.T) {
	url := newAuthTestServer(t, 0)
	code, rep, stderr := runJSON(t, "loginflood", "--url", url, "--duration", "2s", "--poll-interval", "50ms",
		"--pollers", "2", "--flooders", "2", "--flood-source", "127.0.0.2", "--flood-min", "10")
	checkPassed(t, code, rep, stderr)
	if o := op(t, rep, "flood", "wrong-password 429"); o.Requests == 0 {
		t.Errorf("no 429 in the flood: %+v", rep.Phases)
	}
	if o := op(t, rep, "flood", "poll"); o.Requests == 0 || o.Errors != 0 {
		t.Errorf("polls under the flood %+v", o)
	}
	n, ok := rep.Measures["flood_bcrypts"]
	// 2 failures per minute per address, and the run lasts seconds; each
	// flooder may have passed the check while the last allowed failure
	// was being verified.
	if !ok || n < 1 || n > 2+2 {
		t.Errorf("flood_bcrypts %v (reported %v), want the 2 the address limit allows, plus at most one per flooder", n, ok)
	}
}

// Ensure that many-pollers polls with every account, by Basic and by
// token, and that in the steady state Basic costs no bcrypt: each account's
// credential is verified once, on its first poll.
func TestRun_ManyPollers(t *testing.T) {
	url := newAuthTestServer(t, 20)
	for _, auth := range []string{"basic", "token"} {
		code, rep, stderr := runJSON(t, "many-pollers", "--url", url, "--accounts", "20", "--account-auth", auth,
			"--poll-min", "20ms", "--poll-max", "60ms", "--duration", "500ms", "--clients", "4")
		checkPassed(t, code, rep, stderr)
		if o := op(t, rep, "warm-up", "poll"); o.Requests < 20 {
			t.Errorf("%s: %d first polls, want one per account", auth, o.Requests)
		}
		if o := op(t, rep, "steady", "poll"); o.Requests == 0 {
			t.Errorf("%s: no steady polls", auth)
		}
		if n, ok := rep.Measures["steady_bcrypts"]; !ok || n != 0 {
			t.Errorf("%s: steady_bcrypts %v (reported %v), want 0", auth, n, ok)
		}
	}
}

// Ensure that accounts-config prints accounts whose tokens are the ones
// many-pollers sends.
func TestRun_AccountsConfig(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"accounts-config", "--accounts", "2", "--bcrypt-cost", "4"},
		&env{stdout: &out, stderr: &errs, getenv: func(k string) string {
			if k == "TAXII_LOAD_PASSWORD" {
				return "pw-of-the-load-accounts"
			}
			return ""
		}})
	sum := sha256.Sum256([]byte(accountToken(1, "poller-", 2)))
	if code != exitOK || !strings.Contains(out.String(), "name: poller-00002") || !strings.Contains(out.String(), hex.EncodeToString(sum[:])) ||
		!strings.Contains(out.String(), "poller-00001: reader") || strings.Contains(out.String(), "pw-of-the-load-accounts") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
}
