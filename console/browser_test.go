package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium with chromedp. Without it
// they skip, unless EITAXII_REQUIRE_BROWSER=1 (CI), where they fail.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("EITAXII_REQUIRE_BROWSER") == "1" {
			t.Fatal("EITAXII_REQUIRE_BROWSER=1 but chromium is not installed (Debian: apt-get install chromium)")
		}
		t.Skip("chromium is not installed (Debian: apt-get install chromium); set EITAXII_REQUIRE_BROWSER=1 to fail instead")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		// The machine's network is closed: without these chromium keeps
		// trying to reach Google's hosts.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx
}

// screenshot keeps a full-page screenshot as a test artifact, in
// $EITAXII_SCREENSHOTS (default: a directory under the system's temp).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("EITAXII_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "eitaxii-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", filepath.Join(dir, name+".png"))
}

func signInBrowser(t *testing.T, ctx context.Context, e *env, user string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/console/"),
		chromedp.WaitVisible(chromedp.ID(`#name`)),
		chromedp.SendKeys(chromedp.ID(`#name`), user),
		chromedp.SendKeys(chromedp.ID(`#password`), password(user)),
		chromedp.Click(chromedp.CSS(`button[value=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.group`)),
	); err != nil {
		t.Fatalf("sign in as %s: %v", user, err)
	}
}

// Sign in, paste a defanged list with the keyboard only, review, publish,
// see the status and the new objects (issue 13's walk-through).
func TestBrowserPasteAndPublish(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "ana")
	screenshot(t, ctx, "home-before")
	var home string
	if err := chromedp.Do(ctx, textInto(`main`, &home)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(home, "Election officials") || strings.Contains(home, "Vendors") {
		t.Fatalf("home shows:\n%s", home)
	}
	// Keyboard only: Tab to the text area, type, Tab to Review, Enter.
	tabTo := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for range 40 {
				active, err := chromedp.Evaluate[string](`document.activeElement ? (document.activeElement.id || document.activeElement.textContent) : ""`)(ctx, t)
				if err != nil {
					return err
				}
				if active == id {
					return nil
				}
				if _, err := chromedp.KeyEvent("\t")(ctx, t); err != nil {
					return err
				}
			}
			return &tabError{id}
		})
	}
	var review string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+officialsBase+"/publish"),
		chromedp.WaitVisible(chromedp.ID(`#text`)),
		tabTo("text"),
		chromedp.KeyEvent(defanged),
		tabTo("Review"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.review`)),
		textInto(`table.review`, &review),
	); err != nil {
		screenshot(t, ctx, "review-failed")
		t.Fatalf("paste and review: %v", err)
	}
	screenshot(t, ctx, "review")
	if !strings.Contains(review, "evil-ballot.com") || !strings.Contains(review, "203.0.113.7") {
		t.Fatalf("review table:\n%s", review)
	}
	var status string
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID(`publish-selected`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
		textInto(`main`, &status),
	); err != nil {
		t.Fatalf("publish: %v", err)
	}
	screenshot(t, ctx, "status")
	if !strings.Contains(status, "complete") {
		t.Fatalf("status page:\n%s", status)
	}
	var list string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+officialsBase+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.objects`)),
		textInto(`table.objects`, &list),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "collection")
	if !strings.Contains(list, "evil-ballot.com") {
		t.Fatalf("collection list:\n%s", list)
	}
}

type tabError struct{ id string }

func (e *tabError) Error() string { return "Tab never reached " + e.id }

// The live board shows an object published over TAXII.
func TestBrowserLiveBoard(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browserContext(t)
	signInBrowser(t, ctx, e, "rita")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/console/live"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-live=ready]`)),
	); err != nil {
		t.Fatalf("live board: %v", err)
	}
	start := time.Now()
	e.publishIndicators("Live one", 1)
	var row string
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#live-rows tr`)),
		textInto(`#live-rows`, &row),
	); err != nil {
		t.Fatalf("the object never reached the board: %v", err)
	}
	t.Logf("published over TAXII to shown on the board: %v", time.Since(start))
	screenshot(t, ctx, "live")
	if !strings.Contains(row, "Live one") {
		t.Fatalf("board row: %q", row)
	}
}

// textInto reads the text of the first element sel selects into dst.
func textInto(sel string, dst *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Text(chromedp.CSS(sel))(ctx, t)
		*dst = v
		return err
	})
}
