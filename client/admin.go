package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Admin calls the admin API (docs/admin-api.md) with its client's
// credentials. Each method is one route; its errors are those of the
// route (an *Error for a refusal) and of the transport.
type Admin struct{ c *Client }

// Admin returns the client's admin API.
func (c *Client) Admin() *Admin { return &Admin{c: c} }

// AdminPath joins escaped path segments under /admin/v1.
func AdminPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/admin/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// call sends one admin request: in, if not nil, as a JSON body; the
// answer decoded into out, if not nil.
func (a *Admin) call(ctx context.Context, method, path string, query url.Values, in, out any, opts []CallOption) error {
	k := &call{method: method, ref: path, query: query, accept: MediaJSON}
	if in != nil {
		b, err := encodeJSON(in)
		if err != nil {
			return err
		}
		k.body, k.ctype = b, MediaJSON
	}
	data, err := a.c.do(ctx, k, opts)
	if err != nil {
		return err
	}
	return decode(k, data, out)
}

// get is a GET decoded into a new T.
func get[T any](ctx context.Context, a *Admin, path string, query url.Values, opts []CallOption) (*T, error) {
	v := new(T)
	if err := a.call(ctx, http.MethodGet, path, query, nil, v, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// send is a request with body in, decoded into a new T.
func send[T any](ctx context.Context, a *Admin, method, path string, in any, opts []CallOption) (*T, error) {
	v := new(T)
	if err := a.call(ctx, method, path, nil, in, v, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// Me is GET /admin/v1/me.
func (a *Admin) Me(ctx context.Context, opts ...CallOption) (*Me, error) {
	return get[Me](ctx, a, AdminPath("me"), nil, opts)
}

// Organizations is GET /admin/v1/organizations (superadmin).
func (a *Admin) Organizations(ctx context.Context, opts ...CallOption) ([]Organization, error) {
	l, err := get[OrganizationList](ctx, a, AdminPath("organizations"), nil, opts)
	if err != nil {
		return nil, err
	}
	return l.Organizations, nil
}

// Organization is GET /admin/v1/organizations/{name}.
func (a *Admin) Organization(ctx context.Context, name string, opts ...CallOption) (*Organization, error) {
	return get[Organization](ctx, a, AdminPath("organizations", name), nil, opts)
}

// CreateOrganization is POST /admin/v1/organizations.
func (a *Admin) CreateOrganization(ctx context.Context, body OrganizationBody, opts ...CallOption) (*Organization, error) {
	return send[Organization](ctx, a, http.MethodPost, AdminPath("organizations"), &body, opts)
}

// UpdateOrganization is PATCH /admin/v1/organizations/{name}.
func (a *Admin) UpdateOrganization(ctx context.Context, name string, patch OrganizationPatch, opts ...CallOption) (*Organization, error) {
	return send[Organization](ctx, a, http.MethodPatch, AdminPath("organizations", name), &patch, opts)
}

// DeleteOrganization is DELETE /admin/v1/organizations/{name}: 409 while
// it has accounts.
func (a *Admin) DeleteOrganization(ctx context.Context, name string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("organizations", name), nil, nil, nil, nil)
}

// Accounts is GET /admin/v1/accounts; organization "" lists every account
// the caller may read.
func (a *Admin) Accounts(ctx context.Context, organization string, opts ...CallOption) ([]Account, error) {
	var q url.Values
	if organization != "" {
		q = url.Values{"organization": {organization}}
	}
	l, err := get[AccountList](ctx, a, AdminPath("accounts"), q, opts)
	if err != nil {
		return nil, err
	}
	return l.Accounts, nil
}

// Account is GET /admin/v1/accounts/{name}.
func (a *Admin) Account(ctx context.Context, name string, opts ...CallOption) (*Account, error) {
	return get[Account](ctx, a, AdminPath("accounts", name), nil, opts)
}

// CreateAccount is POST /admin/v1/accounts.
func (a *Admin) CreateAccount(ctx context.Context, body AccountBody, opts ...CallOption) (*Account, error) {
	return send[Account](ctx, a, http.MethodPost, AdminPath("accounts"), &body, opts)
}

// UpdateAccount is PATCH /admin/v1/accounts/{name}.
func (a *Admin) UpdateAccount(ctx context.Context, name string, patch AccountPatch, opts ...CallOption) (*Account, error) {
	return send[Account](ctx, a, http.MethodPatch, AdminPath("accounts", name), &patch, opts)
}

// DeleteAccount is DELETE /admin/v1/accounts/{name}.
func (a *Admin) DeleteAccount(ctx context.Context, name string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("accounts", name), nil, nil, nil, nil)
}

// Tokens is GET /admin/v1/accounts/{name}/tokens.
func (a *Admin) Tokens(ctx context.Context, account string, opts ...CallOption) ([]Token, error) {
	l, err := get[TokenList](ctx, a, AdminPath("accounts", account, "tokens"), nil, opts)
	if err != nil {
		return nil, err
	}
	return l.Tokens, nil
}

// CreateToken is POST /admin/v1/accounts/{name}/tokens. The answer holds
// the token's secret, which the server never shows again.
func (a *Admin) CreateToken(ctx context.Context, account string, body TokenBody, opts ...CallOption) (*NewToken, error) {
	return send[NewToken](ctx, a, http.MethodPost, AdminPath("accounts", account, "tokens"), &body, opts)
}

// RevokeToken is DELETE /admin/v1/accounts/{name}/tokens/{id}.
func (a *Admin) RevokeToken(ctx context.Context, account, id string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("accounts", account, "tokens", id), nil, nil, nil, nil)
}

// RevokeAllTokens is DELETE /admin/v1/accounts/{name}/tokens: it returns
// how many tokens were revoked.
func (a *Admin) RevokeAllTokens(ctx context.Context, account string, opts ...CallOption) (int, error) {
	r, err := send[RevokedTokens](ctx, a, http.MethodDelete, AdminPath("accounts", account, "tokens"), nil, opts)
	if err != nil {
		return 0, err
	}
	return r.Revoked, nil
}

// Groups is GET /admin/v1/groups: the groups the caller administers.
func (a *Admin) Groups(ctx context.Context, opts ...CallOption) ([]Group, error) {
	l, err := get[GroupList](ctx, a, AdminPath("groups"), nil, opts)
	if err != nil {
		return nil, err
	}
	return l.Groups, nil
}

// Group is GET /admin/v1/groups/{name}, members included.
func (a *Admin) Group(ctx context.Context, name string, opts ...CallOption) (*Group, error) {
	return get[Group](ctx, a, AdminPath("groups", name), nil, opts)
}

// CreateGroup is POST /admin/v1/groups (superadmin).
func (a *Admin) CreateGroup(ctx context.Context, body GroupBody, opts ...CallOption) (*Group, error) {
	return send[Group](ctx, a, http.MethodPost, AdminPath("groups"), &body, opts)
}

// UpdateGroup is PATCH /admin/v1/groups/{name}.
func (a *Admin) UpdateGroup(ctx context.Context, name string, patch GroupPatch, opts ...CallOption) (*Group, error) {
	return send[Group](ctx, a, http.MethodPatch, AdminPath("groups", name), &patch, opts)
}

// DeleteGroup is DELETE /admin/v1/groups/{name}: 409 while it has
// collections.
func (a *Admin) DeleteGroup(ctx context.Context, name string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("groups", name), nil, nil, nil, nil)
}

// SetMember is PUT /admin/v1/groups/{name}/members/{account}: it adds the
// account or changes its role, and returns the group.
func (a *Admin) SetMember(ctx context.Context, group, account string, role Role, opts ...CallOption) (*Group, error) {
	return send[Group](ctx, a, http.MethodPut, AdminPath("groups", group, "members", account), &MemberBody{Role: &role}, opts)
}

// RemoveMember is DELETE /admin/v1/groups/{name}/members/{account}: it
// returns the group.
func (a *Admin) RemoveMember(ctx context.Context, group, account string, opts ...CallOption) (*Group, error) {
	return send[Group](ctx, a, http.MethodDelete, AdminPath("groups", group, "members", account), nil, opts)
}

// Collections is GET /admin/v1/groups/{name}/collections, sorted by id.
func (a *Admin) Collections(ctx context.Context, group string, opts ...CallOption) ([]Collection, error) {
	l, err := get[CollectionList](ctx, a, AdminPath("groups", group, "collections"), nil, opts)
	if err != nil {
		return nil, err
	}
	return l.Collections, nil
}

// Collection is GET /admin/v1/groups/{name}/collections/{id}.
func (a *Admin) Collection(ctx context.Context, group, id string, opts ...CallOption) (*Collection, error) {
	return get[Collection](ctx, a, AdminPath("groups", group, "collections", id), nil, opts)
}

// CreateCollection is POST /admin/v1/groups/{name}/collections.
func (a *Admin) CreateCollection(ctx context.Context, group string, body CollectionBody, opts ...CallOption) (*Collection, error) {
	return send[Collection](ctx, a, http.MethodPost, AdminPath("groups", group, "collections"), &body, opts)
}

// UpdateCollection is PATCH /admin/v1/groups/{name}/collections/{id}.
func (a *Admin) UpdateCollection(ctx context.Context, group, id string, patch CollectionPatch, opts ...CallOption) (*Collection, error) {
	return send[Collection](ctx, a, http.MethodPatch, AdminPath("groups", group, "collections", id), &patch, opts)
}

// DeleteCollection is DELETE /admin/v1/groups/{name}/collections/{id}:
// every object in it goes too.
func (a *Admin) DeleteCollection(ctx context.Context, group, id string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("groups", group, "collections", id), nil, nil, nil, nil)
}

// AuditQuery selects audit rows; zero fields do not filter. Limit 0 is the
// server's default (1000); at most 10000.
type AuditQuery struct {
	Since, Until time.Time
	Account      string
	Collection   string
	Action       string // exact, or a prefix ending in "."
	Limit        int
}

func (q *AuditQuery) values() url.Values {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	for name, s := range map[string]string{"account": q.Account, "collection": q.Collection, "action": q.Action} {
		if s != "" {
			v.Set(name, s)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Audit is GET /admin/v1/audit: the rows q selects, oldest first.
func (a *Admin) Audit(ctx context.Context, q AuditQuery, opts ...CallOption) ([]AuditEvent, error) {
	p, err := get[AuditPage](ctx, a, AdminPath("audit"), q.values(), opts)
	if err != nil {
		return nil, err
	}
	return p.Events, nil
}

// NotBackupError is returned by Backup when the server answers 200 with
// something other than a store file: the URL is not an eitaxii server's.
type NotBackupError struct {
	Path        string
	ContentType string
}

func (e *NotBackupError) Error() string {
	return fmt.Sprintf("GET %s: unexpected answer of type %q", e.Path, e.ContentType)
}

// Backup is GET /admin/v1/backup (superadmin): it streams a consistent
// copy of the server's store into w and returns the bytes written. The
// HTTP client's Timeout would cut a large download short, so it is not
// applied; instead the download fails when the server sends nothing for
// idle (0: no limit other than ctx). A download cut short is an error,
// never a short but complete copy.
func (a *Admin) Backup(ctx context.Context, w io.Writer, idle time.Duration) (int64, error) {
	hc := *a.c.hc
	hc.Timeout = 0
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var timer *time.Timer
	if idle > 0 {
		errStalled := fmt.Errorf("the server sent nothing for %v", idle)
		timer = time.AfterFunc(idle, func() { cancel(errStalled) })
		defer timer.Stop()
	}
	path := AdminPath("backup")
	u, err := a.c.resolve(path)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	// Errors come as TAXII error resources, which application/json admits.
	a.c.setHeaders(req, "application/octet-stream, "+MediaJSON)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, stalled(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return 0, ErrorFromResponse(resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		return 0, &NotBackupError{Path: path, ContentType: ct}
	}
	var r io.Reader = resp.Body
	if timer != nil {
		r = &idleReader{r: resp.Body, timer: timer, idle: idle}
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return n, fmt.Errorf("download cut short after %d bytes: %w", n, stalled(ctx, err))
	}
	return n, nil
}

// stalled returns the reason ctx was cancelled for, if it was, instead of
// the transport's "context canceled".
func stalled(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// idleReader restarts timer every time bytes arrive.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.idle)
	}
	return n, err
}

// Webhooks is GET /admin/v1/webhooks: the subscriptions of the groups the
// caller administers ("" for all), sorted by id.
func (a *Admin) Webhooks(ctx context.Context, group string, opts ...CallOption) ([]Webhook, error) {
	var q url.Values
	if group != "" {
		q = url.Values{"group": {group}}
	}
	l, err := get[WebhookList](ctx, a, AdminPath("webhooks"), q, opts)
	if err != nil {
		return nil, err
	}
	return l.Webhooks, nil
}

// Webhook is GET /admin/v1/webhooks/{id}.
func (a *Admin) Webhook(ctx context.Context, id string, opts ...CallOption) (*Webhook, error) {
	return get[Webhook](ctx, a, AdminPath("webhooks", id), nil, opts)
}

// CreateWebhook is POST /admin/v1/webhooks; the answer holds the secret,
// shown once.
func (a *Admin) CreateWebhook(ctx context.Context, body WebhookBody, opts ...CallOption) (*NewWebhook, error) {
	return send[NewWebhook](ctx, a, http.MethodPost, AdminPath("webhooks"), &body, opts)
}

// DeleteWebhook is DELETE /admin/v1/webhooks/{id}.
func (a *Admin) DeleteWebhook(ctx context.Context, id string) error {
	return a.call(ctx, http.MethodDelete, AdminPath("webhooks", id), nil, nil, nil, nil)
}

// RotateWebhook is POST /admin/v1/webhooks/{id}/rotate; the answer holds
// the new secret, shown once.
func (a *Admin) RotateWebhook(ctx context.Context, id string, body WebhookRotateBody, opts ...CallOption) (*NewWebhookSecret, error) {
	return send[NewWebhookSecret](ctx, a, http.MethodPost, AdminPath("webhooks", id, "rotate"), &body, opts)
}

// WebhookDeliveries is GET /admin/v1/webhooks/{id}/deliveries: up to
// limit (0: the server's default, 100) attempts, newest first.
func (a *Admin) WebhookDeliveries(ctx context.Context, id string, limit int, opts ...CallOption) ([]WebhookDelivery, error) {
	var q url.Values
	if limit > 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	l, err := get[WebhookDeliveryList](ctx, a, AdminPath("webhooks", id, "deliveries"), q, opts)
	if err != nil {
		return nil, err
	}
	return l.Deliveries, nil
}

// EnableWebhook is POST /admin/v1/webhooks/{id}/enable: a disabled
// subscription resumes after its acknowledged cursor.
func (a *Admin) EnableWebhook(ctx context.Context, id string, opts ...CallOption) (*Webhook, error) {
	return send[Webhook](ctx, a, http.MethodPost, AdminPath("webhooks", id, "enable"), nil, opts)
}
