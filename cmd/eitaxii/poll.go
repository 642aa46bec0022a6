package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/internal/durable"
)

// `eitaxii poll` and `eitaxii watch` are consumers for county IT and
// vendors: poll fetches what is new from any TAXII 2.1 server with the
// standard endpoints only, watch keeps the same output current from
// eitaxii's live stream. Both remember where they stopped in a state file.

const pollUsage = `usage: eitaxii poll --server URL --collection ID|ALIAS|TITLE [OPTIONS]

Fetches the objects added to a TAXII 2.1 collection since the last run and
writes them out. Works with any TAXII 2.1 server (Get Objects with
added_after, following next or X-TAXII-Date-Added-Last).

options:
  --server URL         the server (EITAXII_SERVER)
  --collection C       the collection: its id, alias or title
  --api-root R         its API root, a name or URL; default: discovery's
                       default, else the one API root holding the collection
  --since-file STATE   remember the last date_added seen in STATE: the next
                       run fetches only what is newer. Written atomically,
                       only after the output; it names the server and the
                       collection and is refused for another one.
  --format F           stix (one envelope), jsonl (one object a line,
                       the default), csv (type,id,modified,value) or values
                       (indicator values, one a line, each once: IPs, CIDRs,
                       domains, URLs, e-mail addresses, file hashes)
  --type T             only objects of type T (repeatable, or T1,T2)
  --out FILE           write FILE (atomically replaced) instead of standard output
  --append             append to --out instead (not with stix); with values,
                       values already in FILE are not written again
  --limit N            objects per page asked of the server (default: the server's)
  --user NAME          sign in as NAME (EITAXII_USER), with the password in
                       EITAXII_PASSWORD or --password-stdin
  --token TOKEN        sign in with an API token (prefer EITAXII_TOKEN)
  --cacert FILE, --cert FILE --key FILE   TLS trust and a client certificate

Passwords are never taken as flag values.
exit status: 0 done (nothing new included), 1 failed (the server refused,
the network, the output; the state is unchanged), 2 usage, 3 the state file
is unreadable or belongs to another server or collection (nothing fetched).
`

// Limits of the consumer commands.
const (
	pollTimeout          = 60 * time.Second // one page request
	pollMaxResponse      = 64 << 20         // one page
	maxAppendedValues    = 64 << 20         // bytes of an --append values file read to de-duplicate
	watchHeaderTimeout   = 30 * time.Second
	defaultWatchIdle     = 60 * time.Second // four missed heartbeats
	defaultWatchMaxDelay = 60 * time.Second
)

// errNoCollection is the collection named is not there, or may not be
// read: waiting does not change that.
var errNoCollection = errors.New("no collection")

// consumer holds what poll and watch share: options, the client, the
// resolved collection and the output.
type consumer struct {
	ctx context.Context
	e   *env
	connFlags

	collection string
	apiRoot    string
	sinceFile  string
	format     string
	out        string
	appendOut  bool
	types      commaList

	// forWriting makes resolve look for a collection the caller may
	// publish to (eitaxii publish) instead of one it may read.
	forWriting bool

	c       *client.Client
	rootURL string
	coll    client.CollectionResource
}

// commaList is a repeatable flag whose values may also be comma lists.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }

func (l *commaList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// flags registers the shared options.
func (k *consumer) flags(fs *flag.FlagSet) {
	k.connFlags.register(fs, true)
	fs.StringVar(&k.collection, "collection", "", "collection id, alias or title")
	fs.StringVar(&k.apiRoot, "api-root", "", "API root name or URL")
	fs.StringVar(&k.sinceFile, "since-file", "", "state file")
	fs.StringVar(&k.format, "format", formatJSONL, "output format")
	fs.StringVar(&k.out, "out", "", "output file")
	fs.BoolVar(&k.appendOut, "append", false, "append to --out")
	fs.Var(&k.types, "type", "object type (repeatable)")
}

// check validates the shared options after parsing.
func (k *consumer) check() error {
	if k.collection == "" {
		return usagef("", "--collection is required")
	}
	if err := checkFormat(k.format); err != nil {
		return err
	}
	if k.appendOut && k.out == "" {
		return usagef("", "--append needs --out FILE")
	}
	if k.sinceFile != "" && k.sinceFile == k.out {
		return usagef("", "--since-file and --out must be different files")
	}
	return nil
}

// runPoll implements `eitaxii poll` and returns the exit status.
func runPoll(ctx context.Context, args []string, e *env) int {
	return consumerStatus(e, "poll", pollUsage, pollCommand(ctx, args, e))
}

// consumerStatus is commandStatus with status 3 for a refused state file.
func consumerStatus(e *env, name, usage string, err error) int {
	if errors.Is(err, errState) {
		fmt.Fprintf(e.stderr, "eitaxii %s: %s\n", name, clean(err.Error()))
		return 3
	}
	return commandStatus(e, name, usage, err)
}

func pollCommand(ctx context.Context, args []string, e *env) error {
	k := &consumer{ctx: ctx, e: e}
	fs := newAdminFlagSet("poll")
	k.flags(fs)
	limit := fs.Int("limit", 0, "page size")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if err := k.check(); err != nil {
		return err
	}
	if k.appendOut && k.format == formatSTIX {
		return usagef("", "--append cannot add to a stix envelope; use jsonl, csv or values")
	}
	if *limit < 0 {
		return usagef("", "--limit must be positive")
	}
	c, err := k.connFlags.connectClient(e, connOptions{name: "eitaxii poll", timeout: pollTimeout,
		userAgent: "eitaxii-poll", maxResponse: pollMaxResponse, responseHeaderTimeout: pollTimeout})
	if err != nil {
		return err
	}
	k.c = c
	if err := k.resolve(); err != nil {
		return err
	}
	st, err := k.loadState()
	if err != nil {
		return err
	}

	filter := client.Filter{AddedAfter: st.DateAddedLast, Limit: *limit, Types: k.types}
	var last string
	var got int
	pollInto := func(w *objectWriter) error {
		if err := w.begin(); err != nil {
			return err
		}
		newest, err := k.c.PollObjects(ctx, k.rootURL, k.coll.ID, filter, func(page *client.Envelope) error {
			got += len(page.Objects)
			for _, raw := range page.Objects {
				if err := w.object(raw); err != nil {
					return err
				}
			}
			// Streamed page by page: a large first run does not wait for
			// the last page, nor hold every page in memory.
			return w.flush()
		})
		last = newest
		if err != nil {
			return fmt.Errorf("collection %s (%s): %w", k.coll.ID, k.coll.Title, err)
		}
		if err := w.end(); err != nil {
			return err
		}
		return w.flush()
	}
	if err := k.writeOutput(pollInto); err != nil {
		return err
	}
	if e.afterOutput != nil {
		if err := e.afterOutput(); err != nil {
			return err
		}
	}
	if k.sinceFile == "" {
		return nil
	}
	if last == st.DateAddedLast {
		if got > 0 {
			// Not an error: nothing was lost, but the user should know why
			// every run brings the same objects.
			fmt.Fprintf(e.stderr, "eitaxii poll: warning: the server sent no X-TAXII-Date-Added-Last after %d objects; the state cannot advance and the next run fetches them again\n", got)
		}
		return nil
	}
	st.DateAddedLast, st.LastEventID = last, ""
	if err := st.save(k.sinceFile); err != nil {
		return fmt.Errorf("--since-file %s: %w (the output was written; the next run repeats it)", k.sinceFile, err)
	}
	return nil
}

// writeOutput runs fill with a writer of the output: standard output;
// --out replaced atomically (on error it keeps its old content); or --out
// appended and synced. Only when it returns nil is the output complete
// and durable, and the state may be written.
func (k *consumer) writeOutput(fill func(*objectWriter) error) error {
	if k.out == "" {
		return fill(newObjectWriter(k.format, k.e.stdout, nil, true))
	}
	if !k.appendOut {
		err := durable.WriteFile(k.out, 0o644, func(w io.Writer) error {
			return fill(newObjectWriter(k.format, w, nil, true))
		})
		if err != nil {
			return fmt.Errorf("--out %s: %w", k.out, err)
		}
		return nil
	}
	f, seen, empty, err := k.openAppend()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fill(newObjectWriter(k.format, f, seen, empty)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("--out %s: %w", k.out, err)
	}
	return f.Close()
}

// openAppend opens --out for appending. For values it returns the values
// the file holds, so that none is written twice; empty tells whether the
// file is new (csv then starts with its header).
func (k *consumer) openAppend() (f *os.File, seen map[string]bool, empty bool, err error) {
	f, err = os.OpenFile(k.out, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, false, fmt.Errorf("--out: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("--out: %w", err)
	}
	empty = fi.Size() == 0
	if k.format == formatValues && !empty {
		if fi.Size() > maxAppendedValues {
			f.Close()
			return nil, nil, false, fmt.Errorf("--out %s: larger than %d bytes; is it a values file?", k.out, maxAppendedValues)
		}
		seen = map[string]bool{}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if v := strings.TrimSpace(sc.Text()); v != "" {
				seen[v] = true
			}
		}
		if err := sc.Err(); err != nil {
			f.Close()
			return nil, nil, false, fmt.Errorf("--out %s: %w", k.out, err)
		}
	}
	return f, seen, empty, nil
}

// loadState reads --since-file for the resolved collection, or returns a
// fresh state when there is none.
func (k *consumer) loadState() (*pollState, error) {
	if k.sinceFile == "" {
		return &pollState{Version: stateVersion, Server: k.c.BaseURL(), APIRoot: k.rootURL, Collection: k.coll.ID}, nil
	}
	return loadState(k.sinceFile, k.c.BaseURL(), k.rootURL, k.coll.ID)
}

// resolve finds the API root and the collection: --api-root, or
// discovery's default, or the one API root in discovery that holds the
// collection. It refuses a collection the caller may not read.
func (k *consumer) resolve() error {
	if k.apiRoot != "" {
		root, err := k.c.APIRootURL(k.apiRoot)
		if err != nil {
			return usagef("", "--api-root: %v", err)
		}
		coll, err := k.findIn(root)
		if err != nil {
			return err
		}
		if coll == nil {
			return fmt.Errorf("%w %q in API root %s that you may see", errNoCollection, k.collection, root)
		}
		return k.use(root, coll)
	}
	d, err := k.c.Discovery(k.ctx)
	if err != nil {
		return fmt.Errorf("discovery: %w (give --api-root if the server serves discovery elsewhere)", err)
	}
	roots := d.APIRoots
	if d.Default != "" {
		// The default first: most servers have one, and one request is
		// then enough.
		roots = append([]string{d.Default}, roots...)
	}
	type found struct {
		root string
		coll *client.CollectionResource
	}
	var hits []found
	done := map[string]bool{}
	for _, r := range roots {
		root, err := k.c.APIRootURL(r)
		if err != nil || done[root] {
			continue
		}
		done[root] = true
		coll, err := k.findIn(root)
		if err != nil {
			return err
		}
		if coll != nil {
			hits = append(hits, found{root, coll})
			if r == d.Default {
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return fmt.Errorf("%w %q that you may see in the API roots of %s", errNoCollection, k.collection, k.c.BaseURL())
	case 1:
		return k.use(hits[0].root, hits[0].coll)
	}
	var names []string
	for _, h := range hits {
		names = append(names, h.root)
	}
	return usagef("", "collection %q is in several API roots (%s): give --api-root", k.collection, strings.Join(names, ", "))
}

// use checks that the collection may be read (INT-11: before any request
// for its objects), or written when forWriting, and records it.
func (k *consumer) use(root string, coll *client.CollectionResource) error {
	if k.forWriting && !coll.CanWrite {
		return fmt.Errorf("collection %s (%s): you may not publish to it: %w", coll.ID, coll.Title, errNoCollection)
	}
	if !k.forWriting && !coll.CanRead {
		return fmt.Errorf("collection %s (%s): you may not read it: %w", coll.ID, coll.Title, errNoCollection)
	}
	k.rootURL, k.coll = root, *coll
	return nil
}

// findIn returns the collection of root whose id, alias or title (in this
// order of preference) is --collection, or nil. Two collections with that
// title are a usage error.
func (k *consumer) findIn(root string) (*client.CollectionResource, error) {
	list, err := k.c.Collections(k.ctx, root)
	if err != nil {
		return nil, fmt.Errorf("collections of %s: %w", root, err)
	}
	for _, match := range []func(*client.CollectionResource) bool{
		func(c *client.CollectionResource) bool { return c.ID == k.collection },
		func(c *client.CollectionResource) bool { return c.Alias != "" && c.Alias == k.collection },
		func(c *client.CollectionResource) bool { return c.Title == k.collection },
	} {
		var hits []*client.CollectionResource
		for i := range list {
			if match(&list[i]) {
				hits = append(hits, &list[i])
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		return nil, usagef("", "several collections of %s are called %q (%s): give its id", root, k.collection, strings.Join(ids, ", "))
	}
	return nil, nil
}
