package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Polling a collection for what is new, on any TAXII 2.1 server: the
// paging rules of taxii21-conformance.md (INT-04, INT-05, INT-06, REQ-99)
// seen from the client's side.

// APIRootURL returns the absolute URL, ending in "/", of root as the API
// root calls resolve it: a bare name is below the client's base URL, a
// path or URL is resolved against the server's origin. It returns an
// error for a root on another scheme or host.
func (c *Client) APIRootURL(root string) (string, error) {
	u, err := c.resolve(c.apiRootPath(root))
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// ErrNoProgress is returned by PollObjects when a server says there is
// more but its next page would start where the last one did: following it
// would loop for ever.
var ErrNoProgress = errors.New("client: the server's paging does not advance")

// PollObjects reads every object added to collection id of root after
// f.AddedAfter (all of them when it is empty), page by page, and calls fn
// with each page in order. It follows the page's next token when the
// server gives one (f's other fields are resent unchanged, as TAXII
// requires), and otherwise repeats the query with added_after set to the
// page's X-TAXII-Date-Added-Last, which is lossless on a server whose
// date_added values are unique (INT-05; eitaxii's are).
//
// It returns the newest X-TAXII-Date-Added-Last among the pages fn
// accepted (f.AddedAfter when none is newer): the added_after of the next
// poll. When fn or a request fails, what is returned covers only the
// pages fn accepted before, so a caller that saves it never skips an
// object. A server that sends no X-TAXII-Date-Added-Last leaves it at
// f.AddedAfter: the next poll repeats, never loses.
//
// Errors: the *Error of a refused request; fn's error; ErrNoProgress; an
// error naming the header when the server sends an unreadable
// X-TAXII-Date-Added-Last, or more pages without a way to reach them.
func (c *Client) PollObjects(ctx context.Context, root, id string, f Filter, fn func(*Envelope) error) (string, error) {
	last := f.AddedAfter
	cur := f
	cur.Next = ""
	for {
		page, err := c.Objects(ctx, root, id, cur)
		if err != nil {
			return last, err
		}
		if page.DateAddedLast != "" {
			if _, err := ParseTimestamp(page.DateAddedLast); err != nil {
				return last, fmt.Errorf("X-TAXII-Date-Added-Last %q: %w", page.DateAddedLast, err)
			}
		}
		if err := fn(page); err != nil {
			return last, err
		}
		if later(page.DateAddedLast, last) {
			last = page.DateAddedLast
		}
		if !page.More {
			return last, nil
		}
		switch {
		case page.Next != "":
			if page.Next == cur.Next {
				return last, fmt.Errorf("next %q repeated: %w", page.Next, ErrNoProgress)
			}
			cur.Next = page.Next
		case page.DateAddedLast != "":
			if !later(page.DateAddedLast, cur.AddedAfter) {
				return last, fmt.Errorf("X-TAXII-Date-Added-Last %s is not after added_after %s: %w", page.DateAddedLast, cur.AddedAfter, ErrNoProgress)
			}
			cur.AddedAfter, cur.Next = page.DateAddedLast, ""
		default:
			return last, errors.New(`the server says "more" but gives neither next nor X-TAXII-Date-Added-Last`)
		}
	}
}

// later reports whether TAXII timestamp a is after b; an empty b is
// before everything, an empty or unreadable a after nothing.
func later(a, b string) bool {
	ta, err := ParseTimestamp(a)
	if err != nil {
		return false
	}
	if b == "" {
		return true
	}
	tb, err := ParseTimestamp(b)
	return err != nil || ta.After(tb)
}

// ParseTimestamp parses a TAXII timestamp (RFC 3339 in UTC, any number of
// fractional digits), as servers send date_added and the X-TAXII-Date-Added
// headers. Other offsets are accepted: some servers send them (INT-09).
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "T", 1))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
	}
	return t, nil
}
