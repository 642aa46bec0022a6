package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// TAXII 2.1 resources as the server sends them (taxii21-conformance.md):
// the server's handlers encode these types, so what the client decodes is
// what the server means.

// Discovery is the discovery resource (§4.1.1). APIRoots are URLs as the
// server gives them; pass one to the API root calls as it is.
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// APIRoot is the API root resource (§4.2.1).
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// CollectionResource is a collection as TAXII shows it (§5.2.1), with
// what the caller may do with it.
type CollectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

// Collections is the collections resource (§5.1.1); none is an absent
// member, as the spec shows it.
type Collections struct {
	Collections []CollectionResource `json:"collections,omitempty"`
}

// Versions is a page of an object's versions (§5.7.1).
type Versions struct {
	More     bool     `json:"more,omitempty"`
	Next     string   `json:"next,omitempty"`
	Versions []string `json:"versions,omitempty"`
}

// Envelope is a page of objects (§3.7). Objects are the stored bytes,
// verbatim. DateAddedFirst and DateAddedLast come from the
// X-TAXII-Date-Added-First and -Last headers.
type Envelope struct {
	More    bool              `json:"more,omitempty"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`

	DateAddedFirst string `json:"-"`
	DateAddedLast  string `json:"-"`
}

// ManifestRecord describes one object version (§5.4.1).
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type"`
}

// Manifest is a page of manifest records.
type Manifest struct {
	More    bool             `json:"more,omitempty"`
	Next    string           `json:"next,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`

	DateAddedFirst string `json:"-"`
	DateAddedLast  string `json:"-"`
}

// Status is the status resource of an Add Objects request (§4.3.1).
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail reports one object of an Add Objects request.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// Filter selects objects or manifest records. Zero fields do not filter.
// To read the next page, send the same filter with Next set to the page's
// Next.
type Filter struct {
	AddedAfter   string // a TAXII timestamp, e.g. a page's DateAddedLast
	Limit        int
	Next         string
	IDs          []string // match[id]
	Types        []string // match[type]
	Versions     []string // match[version]: "all", "first", "last" or timestamps
	SpecVersions []string // match[spec_version]
}

func (f *Filter) values() url.Values {
	v := url.Values{}
	if f.AddedAfter != "" {
		v.Set("added_after", f.AddedAfter)
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Next != "" {
		v.Set("next", f.Next)
	}
	for name, list := range map[string][]string{"match[id]": f.IDs, "match[type]": f.Types,
		"match[version]": f.Versions, "match[spec_version]": f.SpecVersions} {
		if len(list) > 0 {
			v.Set(name, strings.Join(list, ","))
		}
	}
	return v
}

// apiRootPath turns root into a reference ending in "/". A bare name
// ("demo") is the API root /demo/ below the client's base URL; a URL or a
// path ("/demo/", as eitaxii's discovery lists them) is a link, resolved
// against the server's origin as a browser would.
func (c *Client) apiRootPath(root string) string {
	if !strings.Contains(root, "/") {
		return "/" + url.PathEscape(root) + "/"
	}
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	if ref, err := url.Parse(root); err == nil {
		origin := url.URL{Scheme: c.base.Scheme, Host: c.base.Host}
		return origin.ResolveReference(ref).String()
	}
	return root // resolve reports the error
}

// taxiiGet GETs ref and returns the decoded 2xx answer and its header.
func taxiiGet[T any](ctx context.Context, c *Client, ref string, query url.Values) (*T, http.Header, error) {
	k := &call{method: http.MethodGet, ref: ref, query: query, accept: MediaTAXII}
	data, err := c.do(ctx, k, nil)
	if err != nil {
		return nil, nil, err
	}
	out := new(T)
	if err := decode(k, data, out); err != nil {
		return nil, nil, err
	}
	return out, k.header, nil
}

// dateAdded returns the X-TAXII-Date-Added-First and -Last headers of a
// page.
func dateAdded(h http.Header) (first, last string) {
	return h.Get("X-TAXII-Date-Added-First"), h.Get("X-TAXII-Date-Added-Last")
}

// Discovery is GET /taxii2/.
func (c *Client) Discovery(ctx context.Context) (*Discovery, error) {
	return c.DiscoveryAt(ctx, "/taxii2/")
}

// DiscoveryAt is GET of a discovery resource at ref, a path or a URL on
// the server, for a server that serves it somewhere other than /taxii2/.
func (c *Client) DiscoveryAt(ctx context.Context, ref string) (*Discovery, error) {
	d, _, err := taxiiGet[Discovery](ctx, c, ref, nil)
	return d, err
}

// APIRoot is GET {root}. root is an API root as discovery lists it (a URL
// or a path on the server) or a bare name.
func (c *Client) APIRoot(ctx context.Context, root string) (*APIRoot, error) {
	r, _, err := taxiiGet[APIRoot](ctx, c, c.apiRootPath(root), nil)
	return r, err
}

// Collections is GET {root}/collections/: the collections the caller may
// see (none is an empty list).
func (c *Client) Collections(ctx context.Context, root string) ([]CollectionResource, error) {
	r, _, err := taxiiGet[Collections](ctx, c, c.apiRootPath(root)+"collections/", nil)
	if err != nil {
		return nil, err
	}
	return r.Collections, nil
}

// collectionPath is {root}/collections/{id}/.
func (c *Client) collectionPath(root, id string) string {
	return c.apiRootPath(root) + "collections/" + url.PathEscape(id) + "/"
}

// Collection is GET {root}/collections/{id}/.
func (c *Client) Collection(ctx context.Context, root, id string) (*CollectionResource, error) {
	r, _, err := taxiiGet[CollectionResource](ctx, c, c.collectionPath(root, id), nil)
	return r, err
}

// Objects is GET {root}/collections/{id}/objects/: one page.
func (c *Client) Objects(ctx context.Context, root, id string, f Filter) (*Envelope, error) {
	return c.envelope(ctx, c.collectionPath(root, id)+"objects/", f)
}

// Manifest is GET {root}/collections/{id}/manifest/: one page.
func (c *Client) Manifest(ctx context.Context, root, id string, f Filter) (*Manifest, error) {
	m, h, err := taxiiGet[Manifest](ctx, c, c.collectionPath(root, id)+"manifest/", f.values())
	if err != nil {
		return nil, err
	}
	m.DateAddedFirst, m.DateAddedLast = dateAdded(h)
	return m, nil
}

// Object is GET {root}/collections/{id}/objects/{object}/: a page of the
// object's versions that f selects (the latest by default).
func (c *Client) Object(ctx context.Context, root, id, object string, f Filter) (*Envelope, error) {
	return c.envelope(ctx, c.collectionPath(root, id)+"objects/"+url.PathEscape(object)+"/", f)
}

// envelope GETs the page of objects at ref that f selects.
func (c *Client) envelope(ctx context.Context, ref string, f Filter) (*Envelope, error) {
	e, h, err := taxiiGet[Envelope](ctx, c, ref, f.values())
	if err != nil {
		return nil, err
	}
	e.DateAddedFirst, e.DateAddedLast = dateAdded(h)
	return e, nil
}

// Versions is GET {root}/collections/{id}/objects/{object}/versions/.
func (c *Client) Versions(ctx context.Context, root, id, object string, f Filter) (*Versions, error) {
	v, _, err := taxiiGet[Versions](ctx, c, c.collectionPath(root, id)+"objects/"+url.PathEscape(object)+"/versions/", f.values())
	return v, err
}

// AddObjects is POST {root}/collections/{id}/objects/ with envelope, the
// JSON of a TAXII envelope ({"objects": [...]}), sent as it is. Objects
// the server refuses one by one are failures in the status, not an error;
// an envelope it cannot use at all is an *Error (422, 413, ...).
func (c *Client) AddObjects(ctx context.Context, root, id string, envelope []byte) (*Status, error) {
	k := &call{method: http.MethodPost, ref: c.collectionPath(root, id) + "objects/", accept: MediaTAXII,
		body: envelope, ctype: MediaTAXII}
	data, err := c.do(ctx, k, nil)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := decode(k, data, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Status is GET {root}/status/{id}/.
func (c *Client) Status(ctx context.Context, root, id string) (*Status, error) {
	st, _, err := taxiiGet[Status](ctx, c, c.apiRootPath(root)+"status/"+url.PathEscape(id)+"/", nil)
	return st, err
}
