// Command page-memory measures how much memory an eitaxii server holds for
// clients that request pages of large objects and never read the answers
// (issue 9). It runs the real binary given with --eitaxii on a fresh data
// directory on 127.0.0.1, fills one collection with --objects indicators of
// about --object-size bytes, restarts the server so that the fill's garbage
// is gone, samples its resident memory once started and again when idle
// after one page read per account (read to the end), then opens --clients
// connections (spread over --accounts reader accounts) that each send one
// GET of the objects endpoint (limit=1000), read the status line and
// nothing more, samples the memory again while they stall, and finally
// closes them and checks that reader-0's reads are served again.
//
// It is a benchmark, not a test: it reports, it asserts nothing. Linux only
// (/proc/<pid>/status). Usage and results: docs/performance.md, "Page
// memory".
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "page-memory:", err)
		os.Exit(1)
	}
}

// The benchmark's accounts all share one password; the loader publishes,
// reader-N read.
const (
	password   = "page-memory-password"
	collection = "5b8e2f0c-3f4a-4d6e-9c1b-7a2d9e4f6b10"
	apiRoot    = "load"
)

type options struct {
	binary     string
	objects    int
	objectSize int
	envelope   int
	clients    int
	accounts   int
	settle     time.Duration
	extra      string // YAML appended to the configuration
	dir        string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("page-memory", flag.ContinueOnError)
	fs.StringVar(&o.binary, "eitaxii", "", "eitaxii binary to run; required")
	fs.IntVar(&o.objects, "objects", 1200, "indicators to load")
	fs.IntVar(&o.objectSize, "object-size", 180000, "bytes per indicator (a description pads it)")
	fs.IntVar(&o.envelope, "envelope", 40, "indicators per POST (the default max_content_length is 10 MiB)")
	fs.IntVar(&o.clients, "clients", 10, "connections that request a page and never read it")
	fs.IntVar(&o.accounts, "accounts", 10, "reader accounts the clients are spread over (client i uses reader-(i mod accounts))")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "wait before sampling, idle and stalled")
	fs.StringVar(&o.extra, "config-extra", "", "YAML lines appended to the server's configuration (e.g. \"max_page_bytes: 4194304\")")
	fs.StringVar(&o.dir, "dir", "", "working directory (default: a new one in $TMPDIR, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("--eitaxii is required")
	}
	if o.objects < 1 || o.objectSize < 1000 || o.envelope < 1 || o.clients < 1 || o.accounts < 1 {
		return errors.New("--objects, --envelope, --clients and --accounts must be at least 1, --object-size at least 1000")
	}
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "page-memory")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	}
	return bench(context.Background(), &o)
}

func bench(ctx context.Context, o *options) error {
	hash, err := hashPassword(o.binary)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(o.dir, "eitaxii.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o, addr, hash)), 0o600); err != nil {
		return err
	}
	base := "http://" + addr
	srv, err := start(o, cfgPath)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := fill(ctx, base, o); err != nil {
		srv.stop()
		return err
	}
	fmt.Printf("loaded %d indicators of %d bytes (%.0f MB) in %.1f s\n", o.objects, o.objectSize,
		float64(o.objects*o.objectSize)/1e6, time.Since(began).Seconds())
	srv.stop()

	// A fresh process: the fill's heap is not counted as idle.
	if srv, err = start(o, cfgPath); err != nil {
		return err
	}
	defer srv.stop()
	time.Sleep(o.settle)
	fresh, err := memory(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("started: VmRSS %6.1f MB  RssAnon %6.1f MB  RssFile %6.1f MB\n", mb(fresh.rss), mb(fresh.anon), mb(fresh.file))
	// One page read per account first, read to the end, so that the idle
	// figure includes what any first read leaves (credential cache,
	// mapped store pages).
	for i := range o.accounts {
		if err := readAll(base, i); err != nil {
			return err
		}
	}
	time.Sleep(o.settle)
	idle, err := memory(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("idle:    VmRSS %6.1f MB  RssAnon %6.1f MB  RssFile %6.1f MB\n", mb(idle.rss), mb(idle.anon), mb(idle.file))

	statuses := map[string]int{}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range o.clients {
		c, status, err := stall(addr, i%o.accounts)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		conns = append(conns, c)
		statuses[status]++
	}
	time.Sleep(o.settle)
	var peak mem
	for range 10 { // the largest of ten samples, 200 ms apart
		m, err := memory(srv.cmd.Process.Pid)
		if err != nil {
			return err
		}
		if m.rss > peak.rss {
			peak = m
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("stalled: VmRSS %6.1f MB  RssAnon %6.1f MB  RssFile %6.1f MB  (%d clients over %d accounts; statuses %v)\n",
		mb(peak.rss), mb(peak.anon), mb(peak.file), o.clients, o.accounts, statuses)
	fmt.Printf("growth:  VmRSS %+6.1f MB  RssAnon %+6.1f MB over idle; VmRSS %+6.1f MB  RssAnon %+6.1f MB over started\n",
		mb(peak.rss-idle.rss), mb(peak.anon-idle.anon), mb(peak.rss-fresh.rss), mb(peak.anon-fresh.anon))

	// The stalled clients go away: their accounts' reads must be served
	// again (their read slots freed when the writes fail).
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	gone := time.Now()
	for {
		err := readAll(base, 0)
		if err == nil {
			fmt.Printf("after the clients disconnected: reader-0's next page read was served after %d ms\n", time.Since(gone).Milliseconds())
			return nil
		}
		if time.Since(gone) > 30*time.Second {
			return fmt.Errorf("30 s after the clients disconnected, reader-0's page reads still fail: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func configYAML(o *options, addr, hash string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\ndiscovery: {title: page memory, default: %s}\naccounts:\n", addr, filepath.Join(o.dir, "data"), apiRoot)
	fmt.Fprintf(&b, "  - {name: loader, password_hash: %q}\n", hash)
	members := []string{"loader: publisher"}
	for i := range o.accounts {
		fmt.Fprintf(&b, "  - {name: reader-%d, password_hash: %q}\n", i, hash)
		members = append(members, fmt.Sprintf("reader-%d: reader", i))
	}
	fmt.Fprintf(&b, "groups:\n  - name: %s\n    title: Page memory\n    members: {%s}\n    collections:\n      - {id: %s, title: Reports}\n",
		apiRoot, strings.Join(members, ", "), collection)
	if o.extra != "" {
		b.WriteString(o.extra + "\n")
	}
	return b.String()
}

// hashPassword asks the binary for the bcrypt hash of password.
func hashPassword(binary string) (string, error) {
	cmd := exec.Command(binary, "hash-password")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hash-password: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

type server struct{ cmd *exec.Cmd }

// start runs `eitaxii serve` and waits until it answers /healthz.
func start(o *options, cfgPath string) (*server, error) {
	log, err := os.OpenFile(filepath.Join(o.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(o.binary, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	cfg, _ := os.ReadFile(cfgPath)
	addr := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(cfg), "\n", 2)[0], "listen:"))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
	}
	s.stop()
	return nil, errors.New("the server did not answer /healthz within 30 s (see server.log)")
}

// stop ends the server as an operator would (SIGTERM) and waits for it.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func basic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// indicator is a valid STIX 2.1 indicator n of about size bytes.
func indicator(n, size int) []byte {
	id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", n, n)
	head := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",`+
		`"name":"Report %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z","description":"`, id, n, n%250)
	b := make([]byte, 0, size+len(head))
	b = append(b, head...)
	for len(b) < size-2 {
		b = append(b, "Observed infrastructure. "[:min(25, size-2-len(b))]...)
	}
	return append(b, `"}`...)
}

// fill posts the indicators as loader, o.envelope per request.
func fill(ctx context.Context, base string, o *options) error {
	c, err := client.New(base, client.Options{Username: "loader", Password: password})
	if err != nil {
		return err
	}
	for lo := 0; lo < o.objects; lo += o.envelope {
		var body bytes.Buffer
		body.WriteString(`{"objects":[`)
		for n := lo; n < min(lo+o.envelope, o.objects); n++ {
			if n > lo {
				body.WriteByte(',')
			}
			body.Write(indicator(n, o.objectSize))
		}
		body.WriteString(`]}`)
		st, err := c.AddObjects(ctx, apiRoot, collection, body.Bytes())
		if err != nil {
			return fmt.Errorf("POST objects %d..: %w", lo, err)
		}
		if st.FailureCount != 0 {
			return fmt.Errorf("POST objects %d..: %d of %d failed", lo, st.FailureCount, st.TotalCount)
		}
	}
	return nil
}

func pageRequest(addr string, account int) string {
	return "GET /" + apiRoot + "/collections/" + collection + "/objects/?limit=1000 HTTP/1.1\r\nHost: " + addr +
		"\r\nAccept: application/taxii+json;version=2.1\r\nAuthorization: " + basic("reader-"+strconv.Itoa(account)) + "\r\n\r\n"
}

// readAll reads one page as reader-account to the end.
func readAll(base string, account int) error {
	req, err := http.NewRequest(http.MethodGet, base+"/"+apiRoot+"/collections/"+collection+"/objects/?limit=1000", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", basic("reader-"+strconv.Itoa(account)))
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET objects as reader-%d: %d", account, resp.StatusCode)
	}
	return nil
}

// stall sends a page request as reader-account with a small receive buffer,
// reads the status line and leaves the connection open, unread.
func stall(addr string, account int) (net.Conn, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(c, pageRequest(addr, account)); err != nil {
		c.Close()
		return nil, "", err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil {
		c.Close()
		return nil, "", fmt.Errorf("status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		c.Close()
		return nil, "", fmt.Errorf("status line %q", line)
	}
	return c, f[1], nil
}

type mem struct{ rss, anon, file int64 } // bytes

// memory reads VmRSS, RssAnon and RssFile of pid.
func memory(pid int) (mem, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return mem{}, err
	}
	var m mem
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	return m, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
