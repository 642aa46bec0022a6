// Package client is a Go client of eitaxii's APIs: TAXII 2.1 under
// /taxii2/ and the API roots (with PollObjects, which pages any TAXII 2.1
// server), the live stream of a collection (Stream, an SSE reader), and
// the admin API under /admin/v1/ (docs/admin-api.md). It holds the admin API's wire types, which the
// server's handlers decode and encode as well, so that the two sides
// cannot drift apart.
//
// The package imports no server package: it is what a program outside the
// server (the eitaxii CLI, cmd/taxii-load, a script) links against.
//
// Every call takes a context, reads a bounded answer (MaxResponse; error
// bodies are cut at maxErrorBody) and reports a refusal by the server as an
// *Error carrying the HTTP status and the TAXII error resource's title and
// description. Transport failures are returned as net/http reports them.
// A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Media types the APIs speak.
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaJSON  = "application/json"
)

// DefaultMaxResponse bounds the body of a successful answer when
// Options.MaxResponse is zero: far above any admin list or TAXII page the
// server sends (a page is bounded by its own byte cap), small enough that
// a misbehaving server cannot make the client buffer without bound.
const DefaultMaxResponse = 64 << 20

// maxErrorBody bounds how much of a refusal's body is read: a TAXII error
// resource is a few hundred bytes.
const maxErrorBody = 64 << 10

// Options configures a Client. The zero value is usable: no credentials,
// http.DefaultClient.
type Options struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Its
	// Timeout bounds every call except Backup, which streams.
	HTTPClient *http.Client
	// At most one of Username (with Password), Token and Authorization;
	// none for a client certificate in HTTPClient's transport, or no
	// credentials. Authorization is a ready header value ("Basic ...",
	// "Bearer ..."), for a caller that already holds one.
	Username, Password string
	Token              string
	Authorization      string
	// UserAgent is sent as User-Agent when not empty.
	UserAgent string
	// MaxResponse bounds a successful answer's body; 0 means
	// DefaultMaxResponse.
	MaxResponse int64
}

// Client calls one eitaxii server.
type Client struct {
	hc     *http.Client
	base   *url.URL // scheme, host and path prefix without a trailing slash
	authz  string   // Authorization header; "" for none
	ua     string
	maxRes int64
}

// New returns a client of the server at baseURL, an http:// or https://
// URL with a host and no credentials, query or fragment. A path in it
// (a server behind a reverse proxy under /taxii/) prefixes every route.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: %q is not an http:// or https:// URL", baseURL)
	}
	if u.User != nil {
		return nil, errors.New("client: put no credentials in the URL")
	}
	if n := btoi(opts.Token != "") + btoi(opts.Username != "" || opts.Password != "") + btoi(opts.Authorization != ""); n > 1 {
		return nil, errors.New("client: give one of a user name and password, a token or an Authorization header")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{hc: opts.HTTPClient, base: u, ua: opts.UserAgent, maxRes: opts.MaxResponse}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.maxRes <= 0 {
		c.maxRes = DefaultMaxResponse
	}
	switch {
	case opts.Authorization != "":
		c.authz = opts.Authorization
	case opts.Token != "":
		c.authz = "Bearer " + opts.Token
	case opts.Username != "":
		c.authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Username+":"+opts.Password))
	}
	return c, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BaseURL returns the server's URL as New normalized it (no trailing
// slash).
func (c *Client) BaseURL() string { return c.base.String() }

// Error is a refusal by the server: a non-2xx answer. Title and
// Description come from the TAXII error resource the server sent; when
// the body is not one, Title is the status text and Description the start
// of the body. Callers decide by Status, never by the text.
type Error struct {
	Status      int
	Title       string
	Description string
}

// Error returns "Title: Description (HTTP Status)".
func (e *Error) Error() string {
	msg := e.Title
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// ErrorFromResponse builds the *Error of a refusal with status and body.
// It is exported for callers that send their own requests (a load
// generator's hot loop) and want the same error.
func ErrorFromResponse(status int, body []byte) *Error {
	var res struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if json.Unmarshal(body, &res) == nil && res.Title != "" {
		return &Error{Status: status, Title: res.Title, Description: res.Description}
	}
	e := &Error{Status: status, Title: http.StatusText(status)}
	if e.Title == "" {
		e.Title = "HTTP " + strconv.Itoa(status)
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	e.Description = text
	return e
}

// A CallOption changes one call.
type CallOption func(*call)

// KeepBody stores the body of a successful answer in *dst, as the server
// sent it: for a caller that shows the server's JSON verbatim (fields this
// package does not know included).
func KeepBody(dst *[]byte) CallOption { return func(c *call) { c.keep = dst } }

// call is one request.
type call struct {
	method string
	ref    string // path below the base, or an absolute URL on the server
	query  url.Values
	accept string
	ctype  string
	body   []byte
	keep   *[]byte
	header http.Header // of the answer, when the caller needs it
}

// resolve turns ref, a path below the base ("/admin/v1/me") or a URL as
// the server gives it (an API root in discovery: absolute, or a path), into
// the URL to send. A URL on another scheme or host is refused: the client
// never sends its credentials anywhere but the server it was made for.
func (c *Client) resolve(ref string) (*url.URL, error) {
	if strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//") {
		u := *c.base
		u.Path = c.base.Path + ref
		return &u, nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("client: %q: %v", ref, err)
	}
	u = c.base.ResolveReference(u)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("client: %s is not on %s://%s; refusing to send credentials elsewhere", u, c.base.Scheme, c.base.Host)
	}
	return u, nil
}

// do sends one request and returns the answer's body, bounded. A non-2xx
// answer is an *Error. Errors name the method and the path as given.
func (c *Client) do(ctx context.Context, k *call, opts []CallOption) ([]byte, error) {
	for _, o := range opts {
		o(k)
	}
	u, err := c.resolve(k.ref)
	if err != nil {
		return nil, err
	}
	if len(k.query) > 0 {
		u.RawQuery = k.query.Encode()
	}
	var rd io.Reader
	if k.body != nil {
		rd = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	c.setHeaders(req, k.accept)
	if k.body != nil {
		req.Header.Set("Content-Type", k.ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, ErrorFromResponse(resp.StatusCode, data)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxRes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", k.method, k.ref, err)
	}
	if int64(len(data)) > c.maxRes {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", k.method, k.ref, c.maxRes)
	}
	k.header = resp.Header
	if k.keep != nil {
		*k.keep = data
	}
	return data, nil
}

func (c *Client) setHeaders(req *http.Request, accept string) {
	req.Header.Set("Accept", accept)
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	if c.authz != "" {
		req.Header.Set("Authorization", c.authz)
	}
}

// decode decodes a successful answer into out (nil: ignore the body).
func decode(k *call, data []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", k.method, k.ref, err)
	}
	return nil
}

// encodeJSON encodes a request body without HTML escaping, as the server
// writes its answers.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
