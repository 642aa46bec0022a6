package console_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// evaluate runs a JavaScript expression in the page and keeps its value.
func evaluate[T any](expr string, dst *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Evaluate[T](expr)(ctx, t)
		*dst = v
		return err
	})
}

// leftPage waits until the browser has loaded a page without sel: the
// answer to a form sent from the page that had it. While the old page is
// torn down, queries fail; those are retried, not errors.
func leftPage(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		expr := `document.readyState === 'complete' && document.querySelector(` + strconv.Quote(sel) + `) === null && document.querySelector('main') !== null`
		for {
			if done, err := chromedp.Evaluate[bool](expr)(ctx, t); err == nil && done {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("still on the page with %s: %w", sel, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// Ensure that, in the browser, a form whose CSRF token was changed is
// refused and stores nothing, and that a session past its idle time sends
// the browser back to the sign-in page (issue 13: CSRF and session
// expiry enforced).
func TestBrowserCSRFAndExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "ana")
	var page string
	var forged bool
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+officialsBase+"/publish"),
		chromedp.WaitVisible(chromedp.ID(`#text`)),
		chromedp.SendKeys(chromedp.ID(`#text`), "evil-ballot[.]com"),
		chromedp.Click(chromedp.CSS(`form[action$="/review"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.review`)),
		// What a forged cross-site form would carry: not this session's token.
		evaluate(`document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged'); true`, &forged),
		chromedp.Click(chromedp.ID(`publish-selected`)),
		leftPage(`table.review`),
		textInto(`main`, &page),
	); err != nil {
		screenshot(t, ctx, "csrf-failed")
		t.Fatalf("forged publish: %v", err)
	}
	screenshot(t, ctx, "csrf-refused")
	if !strings.Contains(page, "The form was refused") {
		t.Fatalf("a forged token was not refused; the page shows:\n%s", page)
	}
	st, err := e.db.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ObjectVersions != 0 {
		t.Fatalf("%d versions stored by a forged form", st.ObjectVersions)
	}

	e.clock.advance(2 * time.Hour) // past the default idle time
	var publishFormGone bool
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+officialsBase+"/publish"),
		chromedp.WaitVisible(chromedp.ID(`#password`)),
		evaluate(`document.querySelector('#text') === null`, &publishFormGone),
	); err != nil {
		screenshot(t, ctx, "expiry-failed")
		t.Fatalf("after the idle time: %v", err)
	}
	if !publishFormGone {
		t.Fatal("the publish page is still shown after the session's idle time")
	}
	screenshot(t, ctx, "expired-sign-in")
}

// Ensure that a member of another group sees none of this group in the
// browser: not on the home page, not on the live board, and a 404 for
// the collection's pages (issue 13: another group's data absent).
func TestBrowserOtherGroupAbsent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "vic")
	var home string
	if err := chromedp.Do(ctx, textInto(`main`, &home)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(home, "Election officials") || strings.Contains(home, collOfficials) || !strings.Contains(home, "Vendors") {
		t.Fatalf("vic's home shows:\n%s", home)
	}
	for _, path := range []string{officialsBase + "/", officialsBase + "/publish"} {
		var body string
		if err := chromedp.Do(ctx, chromedp.Navigate(e.url+path), chromedp.WaitVisible(chromedp.CSS(`main`)), textInto(`main`, &body)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !strings.Contains(body, "Not found") || strings.Contains(body, "Indicators") {
			t.Errorf("%s shows:\n%s", path, body)
		}
	}
	screenshot(t, ctx, "other-group-404")
}

// Ensure that the pages fit a phone's width: nothing wider than the
// screen but the tables, which scroll inside their own box (issue 13:
// usable on a phone-width screen).
func TestBrowserPhoneWidth(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, ctx, e, "ana")
	for _, p := range []struct{ name, path, ready string }{
		{"phone-home", "/console/", `section.group`},
		{"phone-publish", officialsBase + "/publish", `#text`},
		{"phone-collection", officialsBase + "/", `main`},
		{"phone-live", "/console/live", `body[data-live=ready]`},
	} {
		var overflow int
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.url+p.path),
			chromedp.WaitVisible(chromedp.CSS(p.ready)),
			evaluate(`document.documentElement.scrollWidth - window.innerWidth`, &overflow),
		); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		screenshot(t, ctx, p.name)
		if overflow > 0 {
			t.Errorf("%s is %d px wider than a 390 px screen", p.path, overflow)
		}
	}
}

// Ensure that a group admin, in the browser, adds a member with a role
// and makes an API token for a member from the group admin page (issue
// 13: members and roles, tokens, with the admin API's rules).
func TestBrowserGroupAdmin(t *testing.T) {
	e := adminEnv(t)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "gail")
	var notice, secret string
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/console/g/officials/admin"]`)),
		chromedp.WaitVisible(chromedp.ID(`#add-account`)),
		chromedp.SendKeys(chromedp.ID(`#add-account`), "vic"),
		chromedp.SetValue(chromedp.ID(`#add-role`), "publisher"),
		chromedp.Click(chromedp.CSS(`#add-member button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.note`)),
		textInto(`p.note`, &notice),
	); err != nil {
		screenshot(t, ctx, "admin-failed")
		t.Fatalf("add a member: %v", err)
	}
	if notice != "The membership is saved." || e.members()["vic"] != "publisher" {
		t.Fatalf("after adding vic: notice %q, members %v", notice, e.members())
	}
	screenshot(t, ctx, "group-admin")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID(`#token-account`), "ana"),
		chromedp.SendKeys(chromedp.ID(`#token-name`), "siem feed"),
		chromedp.Click(chromedp.CSS(`#new-token button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`#token-secret`)),
		textInto(`#token-secret`, &secret),
	); err != nil {
		screenshot(t, ctx, "token-failed")
		t.Fatalf("make a token: %v", err)
	}
	screenshot(t, ctx, "new-token")
	if got := e.taxiiStatus(secret); got != 200 {
		t.Errorf("TAXII with the token made in the browser: %d, want 200", got)
	}
}

// Ensure that a live board whose connection drops reconnects by itself
// and shows what was published while it was away, once, next to what it
// already showed, not repeated (issue 13's live board; console/live.go's
// resume and the board's dropping of what the replay repeats).
func TestBrowserLiveBoardReconnects(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "rita")
	rows := func(want int) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				var n int
				if _, err := evaluate(`document.querySelectorAll('#live-rows tr').length`, &n)(ctx, tg); err == nil && n >= want {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("fewer than %d rows on the board: %w", want, ctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/console/live"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-live=ready]`)),
	); err != nil {
		t.Fatalf("live board: %v", err)
	}
	e.publishIndicators("before", 1)
	if err := chromedp.Do(ctx, rows(1)); err != nil {
		t.Fatal(err)
	}
	// The connection drops (as a proxy or a network change would drop
	// it); something is published before the board's retry (3 s).
	e.hs.CloseClientConnections()
	e.publishIndicators("away", 2)
	var board, state string
	var n int
	if err := chromedp.Do(ctx,
		rows(3),
		chromedp.Sleep(300*time.Millisecond), // a repeat would arrive with the replay
		evaluate(`document.querySelectorAll('#live-rows tr').length`, &n),
		textInto(`#live-rows`, &board),
		textInto(`#live-state`, &state),
	); err != nil {
		screenshot(t, ctx, "live-reconnect-failed")
		t.Fatalf("after the drop: %v", err)
	}
	screenshot(t, ctx, "live-reconnected")
	for _, name := range []string{"before-0", "away-0", "away-1"} {
		if strings.Count(board, name) != 1 {
			t.Errorf("%s is on the board %d times, want once:\n%s", name, strings.Count(board, name), board)
		}
	}
	if n != 3 || !strings.Contains(state, "Reconnected: objects published meanwhile are shown.") {
		t.Errorf("%d rows, state %q; want 3 and the reconnect notice", n, state)
	}
}
