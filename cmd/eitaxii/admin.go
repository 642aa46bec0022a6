package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/eitaxii/eitaxii/client"
)

// `eitaxii admin` is a client of the admin API (docs/admin-api.md): one
// resource and verb per invocation, tables for people, --json for scripts.

// Environment variables the admin client reads. Flags override them.
const (
	envServer   = "EITAXII_SERVER"
	envUser     = "EITAXII_USER"
	envPassword = "EITAXII_PASSWORD"
	envToken    = "EITAXII_TOKEN"
)

const defaultAdminServer = "http://" + defaultListen

// Client limits: no request may hang forever, and a misbehaving server
// cannot make the client buffer without bound.
const (
	adminTimeout      = 60 * time.Second
	adminDialTimeout  = 10 * time.Second
	maxAdminResponse  = 64 << 20
	maxPasswordLength = 4096
)

const adminUsage = `usage: eitaxii admin [OPTIONS] RESOURCE VERB [ARGS] [FLAGS]

resources:
  me                                              your account, organization and groups
  orgs         list|show|create|update|delete     organizations
  accounts     list|show|create|update|delete     people and machine feeds
  tokens       list|create|revoke                 API tokens of an account
  groups       list|show|create|update|delete     sharing groups (API roots)
  members      list|set|remove                    roles of accounts in a group
  collections  list|show|create|update|delete     collections of a group, with policies
  webhooks     list|show|create|delete|rotate|enable|deliveries  signed webhook subscriptions
  audit        [--since 24h] [--account NAME] ... the audit log, as JSON lines

options (before RESOURCE or after VERB):
  --server URL        the server (EITAXII_SERVER; default ` + defaultAdminServer + `)
  --user NAME         sign in as NAME (EITAXII_USER), with the password in EITAXII_PASSWORD
  --password-stdin    read your password from the first line of standard input instead
  --token TOKEN       sign in with an API token (prefer EITAXII_TOKEN: flags show in ps)
  --cacert FILE       trust the server's certificate if this CA (PEM) signed it
  --cert FILE --key FILE  present a client certificate (mTLS)
  --json              print the API's JSON instead of a table

Passwords are never taken as flag values. "eitaxii admin RESOURCE help" lists
a resource's verbs and flags. Exit status: 0 done, 1 refused or failed, 2 usage.
`

// adminResourceUsage is the usage of each resource, printed with usage
// errors about it.
var adminResourceUsage = map[string]string{
	"webhooks": webhooksUsage,
	"me": `usage: eitaxii admin me
  prints your account, its organization and your role in each group
`,
	"orgs": `usage:
  eitaxii admin orgs list
  eitaxii admin orgs show NAME
  eitaxii admin orgs create NAME --title TITLE
  eitaxii admin orgs update NAME --title TITLE
  eitaxii admin orgs delete NAME        (refused while it has accounts)
`,
	"accounts": `usage:
  eitaxii admin accounts list [--org ORG]
  eitaxii admin accounts show NAME
  eitaxii admin accounts create NAME [--org ORG] [--kind person|machine] [FLAGS]
  eitaxii admin accounts update NAME [FLAGS]
  eitaxii admin accounts delete NAME    (its tokens and memberships go with it)
flags:
  --kind person|machine     a person (the default) or a machine feed
  --superadmin[=false]      may manage everything on the server
  --org-admin[=false]       may manage the accounts of its organization
  --disable, --enable       refuse or allow the account everywhere, at once
  --password-stdin          set its password from the first line of standard input
                            (give your own in EITAXII_PASSWORD, or use a token)
  --cert-fingerprint HEX    register a client certificate by its SHA-256 fingerprint (repeatable)
  --cert-file FILE          register the client certificate in a PEM file (repeatable)
  --remove-cert HEX         (update) unregister a client certificate (repeatable)
  --rate PER_SECOND         its request rate limit (token bucket) ...
  --burst N                 ... and burst; default: the rate, at least 1
  --default-rate            (update) back to the server's default rate limit
  --no-password             (update) remove its password (tokens and certificates remain)
--org is required of a superadmin; an organization admin creates accounts in its own.
`,
	"tokens": `usage:
  eitaxii admin tokens list ACCOUNT
  eitaxii admin tokens create ACCOUNT --name NAME [--expires-in 720h|30d]
  eitaxii admin tokens revoke ACCOUNT ID
  eitaxii admin tokens revoke ACCOUNT --all   (every token; a password change does not end tokens)
The token is printed once, at creation; the server keeps only its hash.
`,
	"groups": `usage:
  eitaxii admin groups list
  eitaxii admin groups show NAME
  eitaxii admin groups create NAME --title TITLE [--description TEXT] [--max-content-length BYTES]
      [--own-domains D1,D2,...]
  eitaxii admin groups update NAME [--title TITLE] [--description TEXT] [--max-content-length BYTES]
      [--own-domains D1,D2,...]   (replaces the list; --own-domains "" empties it)
  eitaxii admin groups delete NAME      (refused while it has collections)
`,
	"members": `usage:
  eitaxii admin members list GROUP
  eitaxii admin members set GROUP ACCOUNT reader|publisher|admin
  eitaxii admin members remove GROUP ACCOUNT
`,
	"collections": `usage:
  eitaxii admin collections list GROUP
  eitaxii admin collections show GROUP ID
  eitaxii admin collections create GROUP [ID] --title TITLE [FLAGS]   (ID: a UUIDv4, generated if absent)
  eitaxii admin collections update GROUP ID [FLAGS]
  eitaxii admin collections delete GROUP ID   (deletes every object in it)
flags:
  --title TEXT, --alias NAME, --description TEXT
  --tlp-ceiling LEVEL       refuse objects marked above LEVEL (clear, green, amber, amber+strict, red)
  --require-tlp[=false]     refuse objects without a TLP marking ...
  --default-tlp LEVEL       ... or, with --require-tlp, mark them LEVEL instead
  --anonymize[=false]       replace created_by_ref with the group's identity
  --read-role ROLE          least role that may read (default reader)
  --write-role ROLE         least role that may write (default publisher)
On update, only the flags given change; --tlp-ceiling= (empty) removes the ceiling.
`,
	"audit": `usage:
  eitaxii admin audit [--since 24h|RFC3339] [--until 1h|RFC3339] [--account NAME]
                      [--collection ID] [--action ACTION] [--limit N]
Prints one JSON object per line, oldest first. --since and --until take a time
(2026-01-02T15:04:05Z) or an age (90m, 24h, 7d). --action takes an action
(publish, read, auth.refused, admin.account.update) or a prefix ending in "."
(admin.). --limit is at most 10000; the server's default is 1000.
`,
}

// adminAliases maps the names a resource may be given to its own.
var adminAliases = map[string]string{
	"me": "me", "whoami": "me",
	"org": "orgs", "orgs": "orgs", "organization": "orgs", "organizations": "orgs",
	"account": "accounts", "accounts": "accounts",
	"token": "tokens", "tokens": "tokens",
	"group": "groups", "groups": "groups",
	"member": "members", "members": "members",
	"collection": "collections", "collections": "collections",
	"webhook": "webhooks", "webhooks": "webhooks",
	"audit": "audit",
}

// usageError is a mistake in the command line: exit status 2, with the
// usage of the resource concerned.
type usageError struct {
	resource string // "" for the admin command as a whole
	msg      string
}

func (e *usageError) Error() string { return e.msg }

func usagef(resource, format string, args ...any) error {
	return &usageError{resource: resource, msg: fmt.Sprintf(format, args...)}
}

// adminCmd is one run of `eitaxii admin`: its options, and the admin API
// client built from them on first use.
type adminCmd struct {
	ctx context.Context
	e   *env

	connFlags
	json bool

	userAgent string // "" for eitaxii-admin

	api  *client.Admin     // built by connect
	keep client.CallOption // keeps each answer's body in raw
	raw  []byte            // the last answer, for --json
}

// runAdmin implements `eitaxii admin` and returns the exit status.
func runAdmin(ctx context.Context, args []string, e *env) int {
	a := &adminCmd{ctx: ctx, e: e}
	resource, err := a.dispatch(args)
	// A usage error names the resource whose usage goes with it.
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		resource = ue.resource
	}
	usage, ok := adminResourceUsage[resource]
	if !ok {
		usage = adminUsage
	}
	return commandStatus(e, "admin", usage, err)
}

// dispatch parses the options before the resource and runs the resource's
// verb. It returns the resource's name for the usage to print.
func (a *adminCmd) dispatch(args []string) (string, error) {
	fs := newAdminFlagSet("admin")
	a.globalFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", usagef("", "%v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return "", usagef("", "name a resource")
	}
	if args[0] == "help" {
		return "", flag.ErrHelp
	}
	resource, ok := adminAliases[args[0]]
	if !ok {
		return "", usagef("", "unknown resource %q", args[0])
	}
	args = args[1:]
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return resource, flag.ErrHelp
	}
	switch resource {
	case "me":
		return resource, a.me(args)
	case "audit":
		return resource, a.audit(args)
	}
	if len(args) == 0 {
		return resource, usagef(resource, "%s: name a verb", resource)
	}
	verb, args := args[0], args[1:]
	var err error
	switch resource {
	case "orgs":
		err = a.orgs(verb, args)
	case "accounts":
		err = a.accounts(verb, args)
	case "tokens":
		err = a.tokens(verb, args)
	case "groups":
		err = a.groups(verb, args)
	case "members":
		err = a.members(verb, args)
	case "collections":
		err = a.collections(verb, args)
	case "webhooks":
		err = a.webhooks(verb, args)
	}
	return resource, err
}

func newAdminFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors come back from Parse and are reported with the resource's
	// usage by runAdmin.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// globalFlags registers the connection options on fs, with their current
// values as defaults so that options given before the resource survive.
// withPasswordStdin is false where --password-stdin means something else
// (the new password of `accounts create|update`).
func (a *adminCmd) globalFlags(fs *flag.FlagSet, withPasswordStdin bool) {
	a.connFlags.register(fs, withPasswordStdin)
	fs.BoolVar(&a.json, "json", a.json, "print JSON")
}

// parseVerb parses the arguments after a verb: flags (the verb's and the
// connection options) anywhere among positional arguments, which it returns.
// It checks their number is within [min, max].
func (a *adminCmd) parseVerb(fs *flag.FlagSet, resource string, args []string, min, max int) ([]string, error) {
	pos, err := flagsAnywhere(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err != nil {
		return nil, usagef(resource, "%s %s: %v", resource, fs.Name(), err)
	}
	switch {
	case len(pos) < min:
		return nil, usagef(resource, "%s %s: missing arguments", resource, fs.Name())
	case len(pos) > max:
		return nil, usagef(resource, "%s %s: unexpected argument %q", resource, fs.Name(), pos[max])
	}
	for _, p := range pos {
		if p == "" {
			return nil, usagef(resource, "%s %s: empty argument", resource, fs.Name())
		}
	}
	return pos, nil
}

// visited returns the names of the flags given on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// connect resolves the server and the credentials and builds the client
// (connectClient).
func (a *adminCmd) connect() error {
	if a.api != nil {
		return nil
	}
	ua := a.userAgent
	if ua == "" {
		ua = "eitaxii-admin"
	}
	c, err := a.connFlags.connectClient(a.e, connOptions{name: "eitaxii admin", defaultServer: defaultAdminServer,
		timeout: adminTimeout, userAgent: ua, maxResponse: maxAdminResponse})
	if err != nil {
		return err
	}
	a.api = c.Admin()
	a.keep = client.KeepBody(&a.raw)
	return nil
}

// readPassword reads a password: the first line of r, without its line end.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordLength)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return password, nil
}

// clean makes a string the server sent safe to print on a terminal: no
// control characters, so no escape sequences and no broken table rows.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// printJSON prints an answer as indented JSON.
func (a *adminCmd) printJSON(data []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, data, "", "  ") != nil {
		buf.Reset()
		buf.Write(data)
	}
	buf.WriteByte('\n')
	a.e.stdout.Write(buf.Bytes())
}

// table prints rows under a header, in aligned columns.
func (a *adminCmd) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(a.e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		for i := range row {
			row[i] = clean(row[i])
			if row[i] == "" {
				row[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// fields prints name/value pairs, one a line, values aligned.
func (a *adminCmd) fields(pairs ...string) {
	tw := tabwriter.NewWriter(a.e.stdout, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		v := clean(pairs[i+1])
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], v)
	}
	tw.Flush()
}

// when formats a time for a table: UTC to the second, "-" if unset.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// withRoles lists the names of m, sorted, each followed by its role in
// parentheses: "alice (admin), bob (reader)".
func withRoles(m map[string]client.Role) string {
	var l []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		l = append(l, name+" ("+string(m[name])+")")
	}
	return strings.Join(l, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// parseAge parses a Go duration or a number of days ("7d").
func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is neither a time (RFC 3339) nor a duration such as 24h or 7d", s)
	}
	return d, nil
}

// parseSince parses --since or --until: an RFC 3339 time, or an age before
// now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := parseAge(s)
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(-d), nil
}
