package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	eitaxii "github.com/eitaxii/eitaxii/client"
)

// The authentication scenarios: loginflood (wrong passwords from a few
// connections while others poll) and many-pollers (thousands of accounts
// polling added_after, by Basic or by token). Their figures that are not
// request latencies (server CPU, bcrypt count, audit rows) come from the
// server itself, when it lets the tool see them: --server-pid for CPU
// (/proc/<pid>/stat, so a server on this machine), eitaxii's /metrics
// (open to the tool's address through metrics.allow) for
// eitaxii_password_checks_total, and the admin audit API
// (TAXII_LOAD_ADMIN_TOKEN, a superadmin's) for auth.refused rows.

// withAuth returns a client sharing c's connections that sends auth.
func (c *client) withAuth(auth string) *client {
	cc := *c
	cc.auth = auth
	return &cc
}

// withSource returns a client of its own conns connections whose
// requests come from the local address ip (a loopback alias such as
// 127.0.0.2 reaches a server on 127.0.0.1 from another address).
func (c *client) withSource(ip net.IP, conns int) *client {
	tr := c.hc.Transport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}).DialContext
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	hc := *c.hc
	hc.Transport = tr
	cc := *c
	cc.hc = &hc
	return &cc
}

// serverCPU returns the CPU seconds (user + system) the process pid has
// used, from /proc/<pid>/stat (Linux; clock ticks of 1/100 s).
func serverCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// Fields 14 and 15 of the line, utime and stime; f starts at field 3.
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return (ut + st) / 100, nil
}

// serverStats is what the tool can read of the server at one moment; a
// figure it cannot read is -1.
type serverStats struct {
	cpu      float64 // CPU seconds
	bcrypts  float64 // eitaxii_password_checks_total
	taken    time.Time
	fromPID  bool
	fromMetr bool
}

// sample reads the server's CPU and bcrypt counter.
func (r *runner) sample(ctx context.Context) serverStats {
	s := serverStats{cpu: -1, bcrypts: -1, taken: time.Now()}
	if r.cfg.serverPID > 0 {
		if v, err := serverCPU(r.cfg.serverPID); err == nil {
			s.cpu, s.fromPID = v, true
		} else {
			r.note("server CPU: %v", err)
		}
	}
	var buf bytes.Buffer
	resp, err := r.c.withAuth("").do(ctx, http.MethodGet, r.c.origin.String()+"/metrics", nil, http.StatusOK, &buf)
	if err == nil {
		for _, line := range strings.Split(string(resp.Body), "\n") {
			if v, ok := strings.CutPrefix(line, "eitaxii_password_checks_total "); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					s.bcrypts, s.fromMetr = n, true
				}
			}
		}
	}
	return s
}

// measure records the server figures between a and b as report measures
// under prefix, with requests the polls of the interval.
func (r *runner) measureServer(prefix string, a, b serverStats, polls int64) {
	if a.fromPID && b.fromPID {
		cpu := b.cpu - a.cpu
		r.measures[prefix+"server_cpu_seconds"] = round3(cpu)
		if polls > 0 {
			r.measures[prefix+"server_cpu_ms_per_poll"] = round3(cpu * 1000 / float64(polls))
		}
	}
	if a.fromMetr && b.fromMetr {
		r.measures[prefix+"bcrypts"] = b.bcrypts - a.bcrypts
	}
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// pollOnce GETs the objects added after after (all if empty) as c, in
// phase ph, and returns the X-TAXII-Date-Added-Last to ask after next time.
// With retry, a 503 with Retry-After (a server short of password-check
// capacity) is no error: it is counted as op "poll 503" and its wait
// returned, for the caller to retry as a client honouring it would.
func (r *runner) pollOnce(ctx context.Context, c *client, ph *phase, buf *bytes.Buffer, after string, retry bool) (string, bool, time.Duration) {
	u := r.t.objectsURL() + "?limit=" + strconv.Itoa(r.cfg.limit)
	if after != "" {
		u += "&added_after=" + url.QueryEscape(after)
	}
	resp, err := c.do(ctx, http.MethodGet, u, nil, http.StatusOK, buf)
	if err == errStopped {
		return after, false, 0
	}
	if retry && resp != nil && resp.Status == http.StatusServiceUnavailable {
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			ph.record("poll 503", resp.Took, 0)
			return after, false, time.Duration(secs) * time.Second
		}
	}
	if err != nil {
		ph.fail("poll")
		r.errs.addErr(err)
		return after, false, 0
	}
	ph.record("poll", resp.Took, 0)
	if last := resp.Header.Get("X-TAXII-Date-Added-Last"); last != "" {
		after = last
	}
	return after, true, 0
}

// runLoginFlood: --pollers poll with the run's credentials every
// --poll-interval for --duration ("idle"), then again while --flooders
// connections send wrong Basic passwords for --flood-user as fast as they
// can from --flood-source ("flood"). Reported: the pollers' latency in
// each phase, the flood's answers by status, bcrypt verifications and
// server CPU in each phase, and the auth.refused audit rows the flood
// added.
func (r *runner) runLoginFlood(ctx context.Context) {
	poll := func(ph *phase, runCtx context.Context) {
		var wg sync.WaitGroup
		for range r.cfg.pollers {
			wg.Go(func() {
				var buf bytes.Buffer
				after := ""
				for runCtx.Err() == nil {
					after, _, _ = r.pollOnce(runCtx, r.c, ph, &buf, after, false)
					select {
					case <-runCtx.Done():
					case <-time.After(r.cfg.pollInterval):
					}
				}
			})
		}
		wg.Wait()
	}

	idle := r.startPhase("idle")
	s0 := r.sample(ctx)
	idleCtx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	poll(idle, idleCtx)
	cancel()
	idle.finish()
	s1 := r.sample(ctx)

	flood := r.startPhase("flood")
	floodStart := time.Now().UTC()
	// The flood lasts --duration, and longer if --flood-min answers have
	// not come yet (a slow machine), but at most ten times --duration.
	floodCtx, cancel := context.WithTimeout(ctx, 10*r.cfg.duration)
	var sent atomic.Int64
	go func() {
		deadline := time.Now().Add(r.cfg.duration)
		for floodCtx.Err() == nil {
			if !time.Now().Before(deadline) && sent.Load() >= int64(r.cfg.floodMin) {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	fc := r.c
	if r.cfg.floodSource != nil {
		fc = r.c.withSource(r.cfg.floodSource, r.cfg.flooders)
	}
	var wg sync.WaitGroup
	for i := range r.cfg.flooders {
		wg.Go(func() {
			var buf bytes.Buffer
			rng := rand.New(rand.NewPCG(r.cfg.seed, uint64(i)))
			for floodCtx.Err() == nil {
				auth := basicAuth(r.cfg.floodUser, "wrong-"+strconv.FormatUint(rng.Uint64(), 36))
				resp, err := fc.withAuth(auth).do(floodCtx, http.MethodGet, r.t.objectsURL(), nil, http.StatusUnauthorized, &buf)
				switch {
				case err == errStopped:
					return
				case resp != nil && (resp.Status == http.StatusUnauthorized || resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable):
					flood.record("wrong-password "+strconv.Itoa(resp.Status), resp.Took, 0)
					sent.Add(1)
				default:
					flood.fail("wrong-password")
					r.errs.addErr(err)
				}
			}
		})
	}
	poll(flood, floodCtx)
	wg.Wait()
	cancel()
	flood.finish()
	s2 := r.sample(ctx)

	idleRep, floodRep := idle.report(), flood.report()
	r.measureServer("idle_", s0, s1, idleRep.Op("poll").Requests)
	r.measureServer("flood_", s1, s2, floodRep.Op("poll").Requests)
	p0, p1 := idleRep.Op("poll").P50Ms, floodRep.Op("poll").P50Ms
	r.measures["idle_poll_p50_ms"], r.measures["flood_poll_p50_ms"] = p0, p1
	if p0 > 0 {
		r.measures["poll_p50_ratio"] = round3(p1 / p0)
	}
	r.note("poll p50 %.3f ms idle, %.3f ms under a flood of %d wrong passwords (%.0f/s): %.2fx",
		p0, p1, sent.Load(), float64(sent.Load())/floodRep.Seconds, p1/max(p0, 1e-9))
	r.countRefusals(ctx, floodStart, floodRep.Seconds)
}

// countRefusals counts the auth.refused rows since since through the
// admin audit API, if TAXII_LOAD_ADMIN_TOKEN was given, per address.
func (r *runner) countRefusals(ctx context.Context, since time.Time, secs float64) {
	if r.cfg.adminToken == "" {
		r.note("audit rows not counted: set TAXII_LOAD_ADMIN_TOKEN to a superadmin's token")
		return
	}
	time.Sleep(2 * time.Second) // the server writes audit rows about every second
	var evs []eitaxii.AuditEvent
	q := eitaxii.AuditQuery{Action: "auth.refused", Limit: 10000, Since: since}
	err := r.c.withAuth("Bearer "+r.cfg.adminToken).call(ctx, "GET audit", func(ctx context.Context, api *eitaxii.Client) (err error) {
		evs, err = api.Admin().Audit(ctx, q)
		return err
	})
	if err != nil {
		r.note("audit rows not counted: %v", err)
		return
	}
	rows := map[string]int{}
	refusals := map[string]int{}
	for _, ev := range evs {
		rows[ev.RemoteAddr]++
		refusals[ev.RemoteAddr] += max(ev.Count, 1)
	}
	// Per minute begun: a server that writes one row per address a
	// minute writes the first at once, so a 90 s flood has 2.
	minutes := math.Ceil(secs / 60)
	for addr, n := range rows {
		r.note("audit: %d auth.refused rows from %s in %.0f s of flood (%.2f per minute begun), standing for %d refusals so far",
			n, addr, secs, float64(n)/minutes, refusals[addr])
		r.measures["audit_rows_per_minute "+addr] = round3(float64(n) / minutes)
	}
}

// accountToken is the API token of load account i: derived from the seed,
// so that accounts-config and many-pollers agree without storing it.
func accountToken(seed uint64, prefix string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("taxii-load %d %s%d", seed, prefix, i)))
	return "tl_" + hex.EncodeToString(sum[:16])
}

// accountName is the name of load account i (from 1).
func accountName(prefix string, i int) string { return fmt.Sprintf("%s%05d", prefix, i) }

// writeAccountsConfig prints, for an eitaxii configuration, --accounts
// accounts with the password TAXII_LOAD_PASSWORD (one bcrypt hash of cost
// --bcrypt-cost for all) and each its token, then the members map that
// makes them readers of a group.
func writeAccountsConfig(w io.Writer, cfg *config, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cfg.bcryptCost)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# accounts of taxii-load many-pollers; append under accounts:")
	for i := 1; i <= cfg.accounts; i++ {
		sum := sha256.Sum256([]byte(accountToken(cfg.seed, cfg.accountPrefix, i)))
		fmt.Fprintf(w, "  - {name: %s, kind: machine, password_hash: %q, token_hashes: [%s]}\n",
			accountName(cfg.accountPrefix, i), hash, hex.EncodeToString(sum[:]))
	}
	fmt.Fprintln(w, "# members: of the group")
	var m []string
	for i := 1; i <= cfg.accounts; i++ {
		m = append(m, accountName(cfg.accountPrefix, i)+": reader")
	}
	_, err = fmt.Fprintf(w, "# {%s}\n", strings.Join(m, ", "))
	return err
}

// runManyPollers: --accounts accounts each poll added_after, each at its
// own pace: the first poll at a random moment within --poll-min, then
// every --poll-min to --poll-max (uniformly drawn each time), through at
// most --clients connections. Basic with TAXII_LOAD_PASSWORD, or
// --account-auth token with each account's derived token. "warm-up" holds
// every account's first poll; "steady" starts when all have polled once
// (waiting at most ten times --poll-min + --duration, or a minute) and
// lasts --duration; its server CPU per poll and bcrypt count are
// reported. A 503 with Retry-After is retried after it, as a client
// honouring it would, and counted as "poll 503", not as an error.
func (r *runner) runManyPollers(ctx context.Context) {
	warm := r.startPhase("warm-up")
	var steady atomic.Pointer[phase]
	slots := make(chan struct{}, r.cfg.clients)
	var firstDone atomic.Int64
	allFirst := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := 1; i <= r.cfg.accounts; i++ {
		auth := basicAuth(accountName(r.cfg.accountPrefix, i), r.cfg.password)
		if r.cfg.accountAuth == "token" {
			auth = "Bearer " + accountToken(r.cfg.seed, r.cfg.accountPrefix, i)
		}
		c := r.c.withAuth(auth)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(r.cfg.seed, uint64(i)))
			wait := time.Duration(rng.Int64N(int64(r.cfg.pollMin)))
			var buf bytes.Buffer
			after := ""
			first := true
			for {
				select {
				case <-runCtx.Done():
					return
				case <-time.After(wait):
				}
				ph := warm
				if s := steady.Load(); s != nil {
					ph = s
				}
				select {
				case slots <- struct{}{}:
				case <-runCtx.Done():
					return
				}
				var retry time.Duration
				after, _, retry = r.pollOnce(runCtx, c, ph, &buf, after, true)
				<-slots
				if retry > 0 {
					wait = retry // the same poll again
					continue
				}
				if first && firstDone.Add(1) == int64(r.cfg.accounts) {
					close(allFirst)
				}
				first = false
				wait = r.cfg.pollMin + time.Duration(rng.Int64N(int64(r.cfg.pollMax-r.cfg.pollMin)+1))
			}
		})
	}
	select {
	case <-allFirst:
	case <-ctx.Done():
	case <-time.After(max(time.Minute, 10*(r.cfg.pollMin+r.cfg.duration))):
		// Far past when every first poll should have come: on a machine
		// this slow the steady state would still hold first polls.
		r.note("only %d of %d accounts polled within ten times --poll-min + --duration", firstDone.Load(), r.cfg.accounts)
	}
	warm.finish()
	st := r.startPhase("steady")
	a := r.sample(ctx)
	steady.Store(st)
	select {
	case <-time.After(r.cfg.duration):
	case <-ctx.Done():
	}
	b := r.sample(ctx)
	st.finish()
	cancel()
	wg.Wait()
	rep := st.report()
	polls := rep.Op("poll").Requests
	r.measureServer("steady_", a, b, polls)
	r.measures["steady_polls"] = float64(polls)
	r.measures["steady_polls_per_account"] = round3(float64(polls) / float64(r.cfg.accounts))
	msg := fmt.Sprintf("steady state (%s auth, %d accounts): %d polls, %.2f per account", r.cfg.accountAuth, r.cfg.accounts, polls, float64(polls)/float64(r.cfg.accounts))
	if v, ok := r.measures["steady_bcrypts"]; ok {
		msg += fmt.Sprintf(", %.0f bcrypt verifications", v)
	}
	if v, ok := r.measures["steady_server_cpu_ms_per_poll"]; ok {
		msg += fmt.Sprintf(", %.3f ms server CPU per poll", v)
	}
	r.note("%s", msg)
}
