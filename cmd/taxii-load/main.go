// Command taxii-load is a load generator for TAXII 2.1 servers. It
// publishes valid, reproducible STIX 2.1 indicators and reads them back,
// measures throughput and latency, and checks as it goes that the server
// lost, repeated and reordered nothing.
//
// Usage:
//
//	taxii-load SCENARIO --url URL [flags]
//
// Scenarios: ingest, poll, scale, mixed, loginflood, many-pollers, stream, webhooks and
// accounts-config, which prints the accounts many-pollers needs (see usage
// below). It sends traffic
// only to the server named by --url; point it at a server you own.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the process environment run uses, swappable in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Exit codes.
const (
	exitOK    = 0 // no errors, check passed
	exitFail  = 1 // errors or a failed check
	exitUsage = 2 // bad flags or arguments; nothing was sent
	exitSetup = 3 // the server could not be reached or resolved
)

const usageText = `usage: taxii-load SCENARIO --url URL [flags]

taxii-load generates load against a TAXII 2.1 server and checks its answers.
It only sends traffic to the server given with --url: point it at a server you
own, never at someone else's.

Scenarios:
  ingest   --clients publishers POST envelopes of --envelope-size indicators
           until --objects are sent or --duration ends; every status must
           report success_count == envelope size and no failures.
  poll     optionally --fill N objects first, then --pollers each walk the
           whole collection with limit=--limit via next, and again via
           added_after = the last X-TAXII-Date-Added-Last; every object
           version must be listed exactly once per walk, in date_added order,
           and both walks must agree. The collection must not change meanwhile.
  scale    fill the collection to each --fill size in turn (e.g.
           1000,10000,100000) and time, --repeat times, fetching the newest
           100 by added_after and the first page (p50/p99/max).
  mixed    --clients publishers and --pollers pollers for --duration; each
           poller walks once via next then polls added_after every
           --poll-interval; at the end every version the publishers got
           confirmed must have been listed, each exactly once.
  loginflood
           --pollers poll added_after every --poll-interval with the run's
           credentials for --duration ("idle"), then as long again while
           --flooders connections send wrong Basic passwords for
           --flood-user as fast as they can, from --flood-source if given
           ("flood"); reports poll p50 in both, the flood's answers by
           status, bcrypt verifications (eitaxii /metrics), server CPU
           (--server-pid) and auth.refused audit rows per address per
           minute (with TAXII_LOAD_ADMIN_TOKEN, a superadmin's token).
  many-pollers
           --accounts accounts (named --account-prefix00001 ...) each poll
           added_after: first within --poll-min, then every --poll-min to
           --poll-max, through --clients connections, by Basic
           (TAXII_LOAD_PASSWORD) or --account-auth token; once all have
           polled, "steady" lasts --duration and reports bcrypt
           verifications and server CPU per poll (--server-pid).
  stream   --subscribers live streams (eitaxii's SSE extension) on the
           collection, idle for --idle, then --objects (default 200) objects
           posted one at a time (each once the previous one is answered,
           or at most one per --publish-interval); every subscriber must
           receive every version exactly once, in order. Reports
           publish-to-receive latency (POST answered -> event read) p50/p99
           and, with --server-pid, the server's RSS before and with the
           subscribers idle. --resume: each
           subscriber disconnects after a random number of events and
           resumes with Last-Event-ID, the same check across connections.
           Use a --seed the collection has not seen (its versions must be
           new), and a server whose max_streams_per_account allows
           --subscribers streams (-1). --subscribe-url A,B: the subscribers
           connect to these nodes round-robin (same paths as --url's
           collection) while the publisher posts to --url: the
           publish-to-receive latency across nodes of one database, also
           reported by node (latency_p99_ms_node_1, ...).
  webhooks (eitaxii) --webhooks subscriptions to the collection, made with the
           run's credentials (a group admin's), POST to a receiver this
           process runs on --receiver-addr (the server must list its host in
           webhooks.allow_hosts); --objects are published (20000 if 0), the
           receiver answers 503 for --fail-for from its first request, then
           204; every subscription must receive every confirmed version
           once (after deduplicating by webhook-id), in cursor order, with
           valid signatures, within --duration. Reports deliveries/s.
  accounts-config
           print the --accounts accounts for the server's configuration
           (password TAXII_LOAD_PASSWORD hashed at --bcrypt-cost, tokens
           derived from --seed); needs no --url.

Credentials: --user with the password in TAXII_LOAD_PASSWORD or on stdin
(--password-stdin), or --token / TAXII_LOAD_TOKEN (sent as Bearer).

Objects are STIX 2.1 indicators generated from --seed: the same seed sends the
same objects (ids, times, patterns). Use another seed to add new objects to a
collection that already holds a seed's.

Every phase stops at --duration at the latest. A progress line goes to stderr
every second once a run passes 3 s; the report goes to stdout (--json for
machines). Exit status: 0 no errors and every check passed, 1 otherwise, 2 bad
usage, 3 the server or collection could not be reached or resolved.

Flags:
`

// config is the parsed command line.
type config struct {
	scenario   string
	url        string
	subscribe  []string // stream: node origins the subscribers use, round-robin; empty: --url's
	apiRoot    string
	collection string
	auth       string
	insecure   bool
	timeout    time.Duration
	duration   time.Duration

	clients      int
	envelopeSize int
	objects      int64

	pollers      int
	limit        int
	passes       int
	versions     string // "all" or "last"
	endpoint     string // "objects" or "manifest"
	pollInterval time.Duration

	fill             []int64
	fillEnvelopeSize int
	repeat           int

	seed         uint64
	versionShare float64
	tlp          []string

	flooders    int
	floodUser   string
	floodSource net.IP
	floodMin    int
	serverPID   int
	adminToken  string

	accounts      int
	accountPrefix string
	accountAuth   string // "basic" or "token"
	pollMin       time.Duration
	pollMax       time.Duration
	bcryptCost    int
	password      string // TAXII_LOAD_PASSWORD, for the load accounts

	subscribers  int
	resume       bool
	idle         time.Duration
	pubInterval  time.Duration // stream: least time between two POSTs' starts
	webhooks     int
	receiverAddr string
	failFor      time.Duration

	json  bool
	quiet bool
}

// parseFlags reads the scenario and flags. It returns flag.ErrHelp for
// -h, and errors that say which flag is wrong.
func parseFlags(args []string, e *env) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("taxii-load", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.url, "url", "", "server base (http://127.0.0.1:8080) or discovery URL; required")
	fs.StringVar(&cfg.apiRoot, "api-root", "", "API root name, path or URL (default: discovery's default or only API root)")
	fs.StringVar(&cfg.collection, "collection", "", "collection id or alias (default: the API root's only read-write collection)")
	user := fs.String("user", "", "user for HTTP Basic; password from TAXII_LOAD_PASSWORD or --password-stdin")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	token := fs.String("token", "", "API token, sent as Bearer (or TAXII_LOAD_TOKEN)")
	fs.BoolVar(&cfg.insecure, "insecure", false, "accept any TLS certificate (self-signed test servers)")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "per-request timeout")
	fs.DurationVar(&cfg.duration, "duration", time.Minute, "run time of ingest and mixed; cap on each phase of poll and scale")

	fs.IntVar(&cfg.clients, "clients", 4, "concurrent publishers (also used to fill)")
	fs.IntVar(&cfg.envelopeSize, "envelope-size", 100, "objects per POST (ingest, mixed)")
	fs.Int64Var(&cfg.objects, "objects", 0, "ingest: objects to send in all (0: until --duration)")

	fs.IntVar(&cfg.pollers, "pollers", 4, "concurrent pollers (poll, mixed)")
	fs.IntVar(&cfg.limit, "limit", 1000, "page size asked for (limit)")
	fs.IntVar(&cfg.passes, "passes", 1, "poll: passes per poller (a pass is one walk via next and one via added_after)")
	fs.StringVar(&cfg.versions, "versions", "all", `which versions reads ask for: "all" (match[version]=all: every version is checked) or "last" (the server's default)`)
	fs.StringVar(&cfg.endpoint, "endpoint", "objects", `what polls read: "objects" or "manifest" (which also checks each entry's date_added)`)
	fs.DurationVar(&cfg.pollInterval, "poll-interval", time.Second, "mixed: pause between a poller's added_after polls")

	fill := fs.String("fill", "", "poll: objects to publish before polling; scale: comma-separated collection sizes (default 1000,10000,100000)")
	fs.IntVar(&cfg.fillEnvelopeSize, "fill-envelope-size", 1000, "objects per POST when filling")
	fs.IntVar(&cfg.repeat, "repeat", 100, "scale: timed reads of each kind at each size")

	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated objects")
	fs.Float64Var(&cfg.versionShare, "version-share", 0.1, "share of generated objects that are new versions of earlier ones (0 to 0.9)")
	tlp := fs.String("tlp", "clear,green,amber", "TLP 2.0 levels to mark objects with, comma-separated (clear, green, amber, amber+strict, red)")

	fs.IntVar(&cfg.flooders, "flooders", 8, "loginflood: connections sending wrong passwords")
	fs.IntVar(&cfg.floodMin, "flood-min", 0, "loginflood: the flood phase lasts until at least this many wrong passwords were answered (at most ten times --duration)")
	fs.StringVar(&cfg.floodUser, "flood-user", "taxii-load-flood", "loginflood: the account name the wrong passwords are sent for")
	floodSource := fs.String("flood-source", "", "loginflood: local IP address the flood comes from (e.g. 127.0.0.2), so that the pollers' address is not the flooded one")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "loginflood, many-pollers: process id of the server, to read its CPU time from /proc")
	fs.IntVar(&cfg.accounts, "accounts", 5000, "many-pollers, accounts-config: number of load accounts")
	fs.StringVar(&cfg.accountPrefix, "account-prefix", "poller-", "many-pollers, accounts-config: prefix of the load accounts' names")
	fs.StringVar(&cfg.accountAuth, "account-auth", "basic", `many-pollers: "basic" or "token"`)
	fs.DurationVar(&cfg.pollMin, "poll-min", 60*time.Second, "many-pollers: least pause between an account's polls")
	fs.DurationVar(&cfg.pollMax, "poll-max", 300*time.Second, "many-pollers: greatest pause between an account's polls")
	fs.IntVar(&cfg.bcryptCost, "bcrypt-cost", 10, "accounts-config: bcrypt cost of the accounts' password hash")
	fs.IntVar(&cfg.subscribers, "subscribers", 1000, "stream: live streams held open")
	var subscribeURL string
	fs.StringVar(&subscribeURL, "subscribe-url", "", "stream: `URL[,URL...]` of the nodes the subscribers connect to, round-robin, while the publisher posts to --url (default: --url); each node must serve the same API root and collection")
	fs.BoolVar(&cfg.resume, "resume", false, "stream: subscribers disconnect at random points and resume with Last-Event-ID")
	fs.DurationVar(&cfg.pubInterval, "publish-interval", 0, "stream: least time between the starts of two POSTs, a publisher at a steady rate (0: each POST as soon as the previous one was answered)")
	fs.DurationVar(&cfg.idle, "idle", 2*time.Second, "stream: how long all subscribers stay connected and idle before the server's RSS is read and publishing starts")

	fs.IntVar(&cfg.webhooks, "webhooks", 4, "webhooks: subscriptions to make")
	fs.StringVar(&cfg.receiverAddr, "receiver-addr", "127.0.0.1:0", "webhooks: address the receiver listens on")
	fs.DurationVar(&cfg.failFor, "fail-for", 0, "webhooks: the receiver answers 503 for this long from its first request")

	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON on stdout instead of a table")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no progress line on stderr")

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return nil, flag.ErrHelp
		}
		return nil, errors.New("give a scenario first: ingest, poll, scale, mixed, loginflood, many-pollers, stream, webhooks or accounts-config")
	}
	cfg.scenario = args[0]
	switch cfg.scenario {
	case "ingest", "poll", "scale", "mixed", "loginflood", "many-pollers", "stream", "webhooks", "accounts-config":
	case "help":
		fs.Usage()
		return nil, flag.ErrHelp
	default:
		return nil, fmt.Errorf("unknown scenario %q: ingest, poll, scale, mixed, loginflood, many-pollers, stream, webhooks or accounts-config", cfg.scenario)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if subscribeURL != "" {
		for _, u := range strings.Split(subscribeURL, ",") {
			origin, _, err := parseServerURL(strings.TrimSpace(u))
			if err != nil {
				return nil, fmt.Errorf("--subscribe-url: %v", err)
			}
			cfg.subscribe = append(cfg.subscribe, origin.String())
		}
	}

	switch {
	case cfg.url == "" && cfg.scenario != "accounts-config":
		return nil, errors.New("--url is required")
	case cfg.floodMin < 0:
		return nil, errors.New("--flood-min must not be negative")
	case cfg.flooders < 1 || cfg.flooders > 1024:
		return nil, errors.New("--flooders must be from 1 to 1024")
	case cfg.accounts < 1 || cfg.accounts > 1_000_000:
		return nil, errors.New("--accounts must be from 1 to 1,000,000")
	case cfg.accountAuth != "basic" && cfg.accountAuth != "token":
		return nil, errors.New(`--account-auth is "basic" or "token"`)
	case cfg.pollMin <= 0 || cfg.pollMax < cfg.pollMin:
		return nil, errors.New("--poll-min must be positive and --poll-max at least --poll-min")
	case cfg.subscribers < 1 || cfg.subscribers > 100_000:
		return nil, errors.New("--subscribers must be from 1 to 100,000")
	case cfg.idle < 0 || cfg.pubInterval < 0:
		return nil, errors.New("--idle and --publish-interval must not be negative")
	case cfg.bcryptCost < 4 || cfg.bcryptCost > 31:
		return nil, errors.New("--bcrypt-cost must be from 4 to 31")
	case cfg.duration <= 0:
		return nil, errors.New("--duration must be positive")
	case cfg.timeout <= 0:
		return nil, errors.New("--timeout must be positive")
	case cfg.clients < 1 || cfg.clients > 1024:
		return nil, errors.New("--clients must be from 1 to 1024")
	case cfg.pollers < 1 || cfg.pollers > 1024:
		return nil, errors.New("--pollers must be from 1 to 1024")
	case cfg.webhooks < 1 || cfg.webhooks > 1000:
		return nil, errors.New("--webhooks must be from 1 to 1000")
	case cfg.failFor < 0:
		return nil, errors.New("--fail-for must not be negative")
	case cfg.envelopeSize < 1 || cfg.fillEnvelopeSize < 1:
		return nil, errors.New("--envelope-size and --fill-envelope-size must be at least 1")
	case cfg.objects < 0 || cfg.objects > maxItems:
		return nil, errors.New("--objects is out of range")
	case cfg.limit < 1:
		return nil, errors.New("--limit must be at least 1")
	case cfg.passes < 1 || cfg.repeat < 1:
		return nil, errors.New("--passes and --repeat must be at least 1")
	case cfg.pollInterval < 0:
		return nil, errors.New("--poll-interval must not be negative")
	case cfg.versions != "all" && cfg.versions != "last":
		return nil, errors.New(`--versions is "all" or "last"`)
	case cfg.endpoint != "objects" && cfg.endpoint != "manifest":
		return nil, errors.New(`--endpoint is "objects" or "manifest"`)
	}
	if *fill == "" && cfg.scenario == "scale" {
		*fill = "1000,10000,100000"
	}
	for _, s := range strings.Split(*fill, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > maxItems {
			return nil, fmt.Errorf("--fill: %q is not a positive number of objects", s)
		}
		cfg.fill = append(cfg.fill, n)
	}
	if cfg.scenario == "poll" && len(cfg.fill) > 1 {
		return nil, errors.New("--fill: poll takes one number")
	}
	if cfg.scenario == "scale" {
		prev := int64(0)
		for _, n := range cfg.fill {
			if n-prev < newestWindow+1 {
				return nil, fmt.Errorf("--fill: sizes must grow by at least %d each (%d after %d)", newestWindow+1, n, prev)
			}
			prev = n
		}
	}
	cfg.tlp = strings.Split(*tlp, ",")
	if *floodSource != "" {
		if cfg.floodSource = net.ParseIP(*floodSource); cfg.floodSource == nil {
			return nil, fmt.Errorf("--flood-source: %q is not an IP address", *floodSource)
		}
	}
	cfg.adminToken = e.getenv("TAXII_LOAD_ADMIN_TOKEN")

	// Credentials: never on the command line except a token the operator
	// chose to put there.
	password := e.getenv("TAXII_LOAD_PASSWORD")
	if *pwStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return nil, fmt.Errorf("--password-stdin: %v", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if *token == "" {
		*token = e.getenv("TAXII_LOAD_TOKEN")
	}
	cfg.password = password
	if (cfg.scenario == "accounts-config" || cfg.scenario == "many-pollers" && cfg.accountAuth == "basic") && password == "" {
		return nil, errors.New(cfg.scenario + ": the load accounts' password comes from TAXII_LOAD_PASSWORD (or --password-stdin)")
	}
	switch {
	case *user != "" && *token != "":
		return nil, errors.New("give --user or --token, not both")
	case *user != "" && password == "":
		return nil, errors.New("--user needs a password: set TAXII_LOAD_PASSWORD or use --password-stdin")
	case *user != "":
		cfg.auth = basicAuth(*user, password)
	case *token != "":
		cfg.auth = "Bearer " + *token
	}
	return cfg, nil
}

// params lists the settings that shape the run, for the report.
func (cfg *config) params() map[string]string {
	p := map[string]string{
		"seed":          strconv.FormatUint(cfg.seed, 10),
		"version_share": strconv.FormatFloat(cfg.versionShare, 'g', -1, 64),
		"duration":      cfg.duration.String(),
	}
	fills := make([]string, len(cfg.fill))
	for i, n := range cfg.fill {
		fills[i] = strconv.FormatInt(n, 10)
	}
	switch cfg.scenario {
	case "ingest":
		p["clients"], p["envelope_size"] = strconv.Itoa(cfg.clients), strconv.Itoa(cfg.envelopeSize)
		p["objects"] = strconv.FormatInt(cfg.objects, 10)
	case "poll":
		p["pollers"], p["limit"], p["passes"] = strconv.Itoa(cfg.pollers), strconv.Itoa(cfg.limit), strconv.Itoa(cfg.passes)
		p["versions"], p["endpoint"], p["fill"] = cfg.versions, cfg.endpoint, strings.Join(fills, ",")
	case "scale":
		p["fill"], p["repeat"], p["versions"] = strings.Join(fills, ","), strconv.Itoa(cfg.repeat), cfg.versions
		p["clients"], p["fill_envelope_size"] = strconv.Itoa(cfg.clients), strconv.Itoa(cfg.fillEnvelopeSize)
	case "mixed":
		p["clients"], p["envelope_size"] = strconv.Itoa(cfg.clients), strconv.Itoa(cfg.envelopeSize)
		p["pollers"], p["limit"], p["versions"] = strconv.Itoa(cfg.pollers), strconv.Itoa(cfg.limit), cfg.versions
		p["poll_interval"] = cfg.pollInterval.String()
	case "loginflood":
		p["pollers"], p["poll_interval"], p["flooders"] = strconv.Itoa(cfg.pollers), cfg.pollInterval.String(), strconv.Itoa(cfg.flooders)
		p["flood_user"], p["flood_source"] = cfg.floodUser, cfg.floodSource.String()
	case "webhooks":
		p["webhooks"], p["fail_for"], p["objects"] = strconv.Itoa(cfg.webhooks), cfg.failFor.String(), strconv.FormatInt(cfg.objects, 10)
		p["clients"], p["envelope_size"] = strconv.Itoa(cfg.clients), strconv.Itoa(cfg.envelopeSize)
	case "many-pollers":
		p["accounts"], p["account_auth"], p["clients"] = strconv.Itoa(cfg.accounts), cfg.accountAuth, strconv.Itoa(cfg.clients)
		p["poll_min"], p["poll_max"], p["limit"] = cfg.pollMin.String(), cfg.pollMax.String(), strconv.Itoa(cfg.limit)
	case "stream":
		p["subscribers"], p["objects"], p["resume"] = strconv.Itoa(cfg.subscribers), strconv.FormatInt(cfg.objects, 10), strconv.FormatBool(cfg.resume)
		p["idle"], p["publish_interval"] = cfg.idle.String(), cfg.pubInterval.String()
	}
	if len(cfg.fill) > 0 && cfg.scenario != "ingest" && cfg.scenario != "mixed" {
		p["fill_envelope_size"] = strconv.Itoa(cfg.fillEnvelopeSize)
	}
	return p
}

// run is the whole program: parse, resolve the collection, run the
// scenario, report. It returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	cfg, err := parseFlags(args, e)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "taxii-load:", err)
		return exitUsage
	}
	if cfg.scenario == "accounts-config" {
		if err := writeAccountsConfig(e.stdout, cfg, cfg.password); err != nil {
			fmt.Fprintln(e.stderr, "taxii-load:", err)
			return exitFail
		}
		return exitOK
	}
	gen, err := NewGenerator(cfg.seed, cfg.versionShare, cfg.tlp)
	if err != nil {
		fmt.Fprintln(e.stderr, "taxii-load:", err)
		return exitUsage
	}
	origin, discovery, err := parseServerURL(cfg.url)
	if err != nil {
		fmt.Fprintln(e.stderr, "taxii-load:", err)
		return exitUsage
	}
	c := newClient(origin, cfg.auth, max(cfg.clients, cfg.pollers)+cfg.pollers, cfg.insecure, cfg.timeout)
	defer c.close()
	t, err := resolve(ctx, c, discovery, cfg.apiRoot, cfg.collection)
	if err != nil {
		fmt.Fprintln(e.stderr, "taxii-load:", err)
		return exitSetup
	}

	r := newRunner(cfg, c, t, gen)
	started := time.Now()
	stopProgress := func() {}
	if !cfg.quiet {
		stopProgress = progress(e.stderr, started, r.cur.Load, r.errs)
	}
	switch cfg.scenario {
	case "ingest":
		r.runIngest(ctx)
	case "poll":
		r.runPoll(ctx)
	case "scale":
		r.runScale(ctx)
	case "mixed":
		r.runMixed(ctx)
	case "loginflood":
		r.runLoginFlood(ctx)
	case "many-pollers":
		r.runManyPollers(ctx)
	case "stream":
		r.runStream(ctx)
	case "webhooks":
		r.runWebhooks(ctx)
	}
	stopProgress()
	if ctx.Err() != nil {
		r.note("interrupted")
	}

	rep := r.report(started)
	if cfg.json {
		err = writeJSON(e.stdout, rep)
	} else {
		err = writeTable(e.stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "taxii-load:", err)
		return exitFail
	}
	if !rep.Check.Passed {
		return exitFail
	}
	return exitOK
}

// report assembles the run's report and verdict.
func (r *runner) report(started time.Time) *Report {
	rep := &Report{Scenario: r.cfg.scenario, Target: r.t.collection, Started: started,
		Seconds: time.Since(started).Round(time.Millisecond).Seconds(), Params: r.cfg.params(),
		Errors: r.errs.reports(), Notes: r.notes, Measures: r.measures}
	for _, p := range r.phases {
		rep.Phases = append(rep.Phases, p.report())
	}
	var posted, envelopes int64
	for _, p := range rep.Phases {
		o := p.Op("post")
		posted += o.Objects
		envelopes += o.Requests
	}
	var kinds []string
	for kind, n := range r.counts {
		kinds = append(kinds, fmt.Sprintf("%s (%d)", kind, n))
		for _, d := range r.problems[kind] {
			rep.Check.Details = append(rep.Check.Details, kind+": "+d)
		}
	}
	sort.Strings(kinds)
	sort.Strings(rep.Check.Details)
	errs := r.errs.total.Load()
	switch {
	case len(kinds) > 0:
		rep.Check.Summary = "problems found: " + strings.Join(kinds, ", ")
		return rep
	case errs > 0:
		rep.Check.Summary = fmt.Sprintf("%d errors; see errors", errs)
		return rep
	}
	rep.Check.Passed = true
	confirmed := fmt.Sprintf("%d objects in %d envelopes confirmed by their status (success_count = envelope size, no failures)", posted, envelopes)
	switch r.cfg.scenario {
	case "ingest":
		rep.Check.Summary = confirmed
	case "poll":
		rep.Check.Summary = fmt.Sprintf("%d poll passes: every version listed exactly once per walk, in date_added order, the same via next and via added_after", r.passes.Load())
		if r.expectN > 0 {
			rep.Check.Summary += fmt.Sprintf(", including all %d this run stored", r.expectN)
		}
	case "mixed":
		rep.Check.Summary = fmt.Sprintf("%s; %d pollers listed all %d of them (versions=%s), each exactly once, in date_added order", confirmed, r.passes.Load(), r.expectN, r.cfg.versions)
	case "loginflood":
		rep.Check.Summary = "every poll answered 200, every wrong password 401, 429 or 503"
	case "many-pollers":
		rep.Check.Summary = "every poll answered 200"
	case "stream":
		how := "on one connection each"
		if r.cfg.resume {
			how = "across disconnections and resumptions with Last-Event-ID"
		}
		rep.Check.Summary = fmt.Sprintf("%s; each of %d subscribers received all %d versions exactly once, in order, %s", confirmed, r.cfg.subscribers, r.expectN, how)
	case "webhooks":
		rep.Check.Summary = fmt.Sprintf("%s; each of %d webhooks received all %d versions, each once, in cursor order, signed", confirmed, r.cfg.webhooks, r.expectN)
	case "scale":
		rep.Check.Summary = fmt.Sprintf("%s; at sizes %s, added_after listed exactly the newest %d versions and the first page was stable, on every repeat", confirmed, strings.Join(r.measured, ", "), newestWindow)
	}
	return rep
}
