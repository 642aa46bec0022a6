package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	eitaxii "github.com/eitaxii/eitaxii/client"
)

// mediaTAXII is the TAXII 2.1 media type, sent as Accept and Content-Type.
const mediaTAXII = "application/taxii+json;version=2.1"

// userAgent names the tool in the server's logs.
const userAgent = "taxii-load/1"

// A client sends TAXII requests to one server. It never follows redirects
// and never uses a proxy: every request goes to the origin of the URL the
// operator gave. It is safe for concurrent use.
type client struct {
	hc      *http.Client
	origin  *url.URL // scheme and host every request must use
	auth    string   // Authorization header value; "" for none
	timeout time.Duration
}

// newClient builds the client and its shared transport: keep-alive, up to
// conns idle connections to the server, no compression (a load generator
// should measure the server, not gzip).
func newClient(origin *url.URL, auth string, conns int, insecure bool, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the operator asked for it: --insecure
	}
	hc := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &client{hc: hc, origin: origin, auth: auth, timeout: timeout}
}

// close releases the idle connections.
func (c *client) close() { c.hc.CloseIdleConnections() }

// basicAuth is the Authorization header value of HTTP Basic.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// response is what a request returned. Body aliases the caller's buffer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Took   time.Duration
}

// requestError is a failed request, classified for the report.
type requestError struct {
	Kind string // "transport", "timeout", "http 500", ...
	Msg  string
}

func (e *requestError) Error() string { return e.Kind + ": " + e.Msg }

// errStopped means the run's deadline or an interrupt ended the request:
// not a server error, and the request is not counted.
var errStopped = errors.New("stopped")

// do sends one request and reads the whole answer into buf. Status codes
// other than want are returned as a *requestError of kind "http <code>".
func (c *client) do(ctx context.Context, method, u string, body []byte, want int, buf *bytes.Buffer) (*response, error) {
	if ctx.Err() != nil {
		return nil, errStopped
	}
	target, err := url.Parse(u)
	if err != nil {
		return nil, &requestError{Kind: "bad url", Msg: err.Error()}
	}
	if target.Scheme != c.origin.Scheme || target.Host != c.origin.Host {
		// API roots and status URLs come from the server; never follow one
		// to another host.
		return nil, &requestError{Kind: "foreign url", Msg: u + " is not on " + c.origin.Scheme + "://" + c.origin.Host}
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		return nil, &requestError{Kind: "bad url", Msg: err.Error()}
	}
	req.Header.Set("Accept", mediaTAXII)
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", mediaTAXII)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err == nil {
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, errStopped
	case err != nil && rctx.Err() != nil:
		return nil, &requestError{Kind: "timeout", Msg: fmt.Sprintf("%s %s: no answer within %s", method, u, c.timeout)}
	case err != nil:
		return nil, &requestError{Kind: "transport", Msg: err.Error()}
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes(), Took: took}
	if resp.StatusCode != want {
		return r, refusal(method+" "+u, eitaxii.ErrorFromResponse(resp.StatusCode, r.Body))
	}
	return r, nil
}

// refusal is the *requestError of a refusal by the server of what.
func refusal(what string, e *eitaxii.Error) *requestError {
	msg := e.Title
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return &requestError{Kind: "http " + strconv.Itoa(e.Status), Msg: what + ": " + msg}
}

// api returns the eitaxii client of c's server, with c's credentials and
// connections. The calls outside the measured loops (discovery,
// collections, statuses, the audit log) go through it; the loops keep do,
// which reuses one buffer per worker and times the request alone.
func (c *client) api() *eitaxii.Client {
	api, err := eitaxii.New(c.origin.String(), eitaxii.Options{HTTPClient: c.hc, Authorization: c.auth, UserAgent: userAgent})
	if err != nil {
		panic(err) // parseServerURL checked the origin
	}
	return api
}

// call runs one call of c.api() within the request timeout and reports
// its error as do does (what names the request in the message).
func (c *client) call(ctx context.Context, what string, fn func(context.Context, *eitaxii.Client) error) error {
	if ctx.Err() != nil {
		return errStopped
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := fn(rctx, c.api())
	var refused *eitaxii.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return refusal(what, refused)
	case ctx.Err() != nil:
		return errStopped
	case rctx.Err() != nil:
		return &requestError{Kind: "timeout", Msg: fmt.Sprintf("%s: no answer within %s", what, c.timeout)}
	}
	return &requestError{Kind: "transport", Msg: err.Error()}
}

// target is the resolved collection the scenarios work on.
type target struct {
	apiRoot    string // absolute URL ending in "/"
	collection string // absolute URL of the collection, ending in "/"
}

func (t *target) objectsURL() string  { return t.collection + "objects/" }
func (t *target) manifestURL() string { return t.collection + "manifest/" }

// parseServerURL checks --url: http or https, a host, nothing else. It
// returns the origin (scheme://host) and the discovery URL: the URL itself
// when it has a path, else /taxii2/ on it.
func parseServerURL(s string) (origin *url.URL, discovery string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "", fmt.Errorf("--url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, "", fmt.Errorf("--url: %q is not an http:// or https:// URL with a host", s)
	}
	if u.User != nil {
		return nil, "", fmt.Errorf("--url: put credentials in --user/--token, not in the URL")
	}
	origin = &url.URL{Scheme: u.Scheme, Host: u.Host}
	if u.Path == "" || u.Path == "/" {
		return origin, origin.String() + "/taxii2/", nil
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return origin, u.String(), nil
}

// resolve finds the API root and the collection to use. An API root given
// as a name ("demo") or a path ("/demo/") is taken as is; without one, the
// discovery resource's default, or its only API root, is used. Without a
// collection, the API root must list exactly one collection that can be
// read and written.
func resolve(ctx context.Context, c *client, discovery, apiRoot, collection string) (*target, error) {
	origin := c.origin.String()
	t := &target{}
	switch {
	case strings.HasPrefix(apiRoot, "http://") || strings.HasPrefix(apiRoot, "https://"):
		t.apiRoot = apiRoot
	case strings.HasPrefix(apiRoot, "/"):
		t.apiRoot = origin + apiRoot
	case apiRoot != "":
		t.apiRoot = origin + "/" + url.PathEscape(apiRoot) + "/"
	default:
		var d *eitaxii.Discovery
		err := c.call(ctx, "GET "+discovery, func(ctx context.Context, api *eitaxii.Client) (err error) {
			d, err = api.DiscoveryAt(ctx, discovery)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		switch {
		case d.Default != "":
			t.apiRoot = d.Default
		case len(d.APIRoots) == 1:
			t.apiRoot = d.APIRoots[0]
		default:
			return nil, fmt.Errorf("discovery lists %d API roots and no default; choose one with --api-root: %s", len(d.APIRoots), strings.Join(d.APIRoots, " "))
		}
		ref, err := url.Parse(t.apiRoot)
		if err != nil {
			return nil, fmt.Errorf("discovery: API root %q: %v", t.apiRoot, err)
		}
		base, _ := url.Parse(discovery)
		t.apiRoot = base.ResolveReference(ref).String()
	}
	if !strings.HasSuffix(t.apiRoot, "/") {
		t.apiRoot += "/"
	}
	if u, err := url.Parse(t.apiRoot); err != nil || u.Scheme != c.origin.Scheme || u.Host != c.origin.Host {
		return nil, fmt.Errorf("API root %s is not on %s; taxii-load only sends traffic to the server given with --url", t.apiRoot, origin)
	}
	if collection == "" {
		var cs []eitaxii.CollectionResource
		err := c.call(ctx, "GET "+t.apiRoot+"collections/", func(ctx context.Context, api *eitaxii.Client) (err error) {
			cs, err = api.Collections(ctx, t.apiRoot)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("collections: %w", err)
		}
		var ids []string
		for _, col := range cs {
			if col.CanRead && col.CanWrite {
				ids = append(ids, col.ID)
			}
		}
		if len(ids) != 1 {
			return nil, fmt.Errorf("%s lists %d collections you can read and write; choose one with --collection", t.apiRoot, len(ids))
		}
		collection = ids[0]
	}
	t.collection = t.apiRoot + "collections/" + url.PathEscape(collection) + "/"
	return t, nil
}
