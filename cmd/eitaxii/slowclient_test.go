package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startLimitsServer serves a group with one collection (alias indicators)
// and two publishers, alice and bob, whose passwords are their names +
// "-password-1".
func startLimitsServer(t *testing.T) string {
	t.Helper()
	var accounts string
	for _, name := range []string{"alice", "bob"} {
		hash, err := bcrypt.GenerateFromPassword([]byte(name+"-password-1"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		accounts += fmt.Sprintf("  - name: %s\n    password_hash: %q\n", name, hash)
	}
	cfg := writeConfig(t, `
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii}
accounts:
`+accounts+`groups:
  - name: eo
    title: Election Officials
    members: {alice: publisher, bob: publisher}
    collections:
      - {id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: Indicators, alias: indicators}
`)
	base, _, _, _ := startServe(t, "--config", cfg)
	return base
}

// trickled is what a trickling client saw.
type trickled struct {
	sent    int           // bytes written before the server cut it off
	elapsed time.Duration // from the first byte to the end of the connection
	status  string        // the response's status line, "" if none
}

// trickle opens a raw connection to addr, writes head at once, then tail one
// byte every interval, until the server ends the connection. It reads
// whatever the server answers meanwhile.
func trickle(addr, head, tail string, interval time.Duration) <-chan trickled {
	out := make(chan trickled, 1)
	go func() {
		start := time.Now()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			out <- trickled{status: "dial: " + err.Error()}
			return
		}
		defer conn.Close()
		read := make(chan string, 1)
		go func() {
			status, _ := bufio.NewReader(conn).ReadString('\n')
			io.Copy(io.Discard, conn) // until the server closes
			read <- strings.TrimSpace(status)
		}()
		sent := 0
		if n, err := io.WriteString(conn, head); err == nil {
			sent += n
			for i := 0; i < len(tail); i++ {
				select {
				case status := <-read:
					out <- trickled{sent: sent, elapsed: time.Since(start), status: status}
					return
				case <-time.After(interval):
				}
				if _, err := conn.Write([]byte{tail[i]}); err != nil {
					break
				}
				sent++
			}
		}
		// Everything was written or a write failed: wait for the server
		// (a bounded wait, so that a server that never cuts fails the test).
		select {
		case status := <-read:
			out <- trickled{sent: sent, elapsed: time.Since(start), status: status}
		case <-time.After(time.Minute):
			out <- trickled{sent: sent, elapsed: time.Since(start), status: "still open after a minute"}
		}
	}()
	return out
}

// Ensure that a client trickling its headers and one trickling a POST body
// are cut off by the read timeouts, and that meanwhile other publishers'
// POSTs complete at once: the trickled body is read before, not while,
// the store's write lock is held.
func TestServe_SlowClients(t *testing.T) {
	defer func(h, r time.Duration) { readHeaderTimeout, readTimeout = h, r }(readHeaderTimeout, readTimeout)
	readHeaderTimeout, readTimeout = 2*time.Second, 3*time.Second
	base := startLimitsServer(t)
	addr := strings.TrimPrefix(base, "http://")
	objects := base + "/eo/collections/indicators/objects/"
	const interval = 50 * time.Millisecond

	slowHeaders := trickle(addr, "GET /taxii2/ HTTP/1.1\r\nHost: "+addr+"\r\n",
		"Accept: application/taxii+json;version=2.1\r\nX-Slow: "+strings.Repeat("s", 2000)+"\r\n\r\n", interval)

	slowID := "0d1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11"
	body := `{"objects":[` + fmt.Sprintf(indicatorJSON, slowID) + `]}`
	half := len(body) / 2
	postHead := "POST /eo/collections/indicators/objects/ HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMQ==\r\n" + // alice:alice-password-1
		"Accept: application/taxii+json;version=2.1\r\nContent-Type: application/taxii+json;version=2.1\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	slowBody := trickle(addr, postHead+body[:half], body[half:], interval)

	// Let the slow POST reach its handler, which is now reading the body.
	time.Sleep(300 * time.Millisecond)
	var ids []string
	start := time.Now()
	for i := range 10 {
		user := []string{"alice", "bob"}[i%2]
		id := fmt.Sprintf("6f1c3c2e-1b7a-4c5e-9a0b-%012x", i)
		t0 := time.Now()
		resp, b := do(t, "POST", objects, user, user+"-password-1", `{"objects":[`+fmt.Sprintf(indicatorJSON, id)+`]}`)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("publish %d: %d %s", i, resp.StatusCode, b)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("publish %d took %v while slow clients were connected", i, d)
		}
		ids = append(ids, id)
	}
	if d := time.Since(start); d >= readHeaderTimeout {
		t.Fatalf("the publishes took %v, not all while the slow clients were connected", d)
	}
	select {
	case r := <-slowBody:
		t.Fatalf("the slow POST ended before the publishes did: %+v", r)
	case r := <-slowHeaders:
		t.Fatalf("the slow headers ended before the publishes did: %+v", r)
	default:
	}

	h := <-slowHeaders
	if h.elapsed < readHeaderTimeout-100*time.Millisecond || h.elapsed > readHeaderTimeout+3*time.Second {
		t.Errorf("slow headers cut after %v, want about %v", h.elapsed, readHeaderTimeout)
	}
	if strings.Contains(h.status, " 200 ") {
		t.Errorf("slow headers were answered: %q", h.status)
	}
	b := <-slowBody
	if b.elapsed < readTimeout-100*time.Millisecond || b.elapsed > readTimeout+3*time.Second {
		t.Errorf("slow body cut after %v, want about %v", b.elapsed, readTimeout)
	}
	if sent := b.sent - len(postHead); !strings.HasPrefix(b.status, "HTTP/1.1 408 ") || sent >= len(body) {
		t.Errorf("slow body: status %q after %d bytes of a %d-byte request body, want a 408 before the end", b.status, sent, len(body))
	}
	t.Logf("slow headers: %+v; slow body: %+v", h, b)

	// The publishes are stored; the cut-off POST stored nothing.
	resp, got := do(t, "GET", objects, "bob", "bob-password-1", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("poll: %d %s", resp.StatusCode, got)
	}
	for _, id := range ids {
		if !strings.Contains(string(got), "indicator--"+id) {
			t.Errorf("published indicator--%s missing", id)
		}
	}
	if strings.Contains(string(got), slowID) {
		t.Error("the cut-off POST's object was stored")
	}
}

// Ensure that the real server answers a header over the TAXII limit (64
// KiB) but under Go's own (1 MiB) with a TAXII 431, not Go's plain text.
func TestServe_LargeHeader(t *testing.T) {
	base := startLimitsServer(t)
	req, err := http.NewRequest("GET", base+"/taxii2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", "alice-password-1")
	req.Header.Set("X-Pad", strings.Repeat("p", 100<<10))
	resp, b := roundTrip(t, req)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Content-Type") != "application/taxii+json;version=2.1" ||
		!strings.Contains(string(b), `"http_status":"431"`) {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}
