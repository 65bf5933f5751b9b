package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cointracker/cointracker/db/dbtest"
)

// TestDocsConsoleInABrowser drives the Swagger UI at /docs/index.html in
// headless Chromium as a person would: Authorize with a dev token, then
// "Try it out" and "Execute" on GET /v1/transactions and POST
// /v1/addresses, reading the answers off the page. It saves a screenshot
// of each step in the test's artifact directory (go test -artifacts keeps
// them; make test does). It is skipped where Chromium is not installed
// (.ci/run installs Debian's chromium).
func TestDocsConsoleInABrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("Chromium is not installed (Debian: scripts/install_packages.sh chromium)")
	}
	clearEnv(t)
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", dbtest.NewURL(t))
	t.Setenv("AUTH_MODE", "dev")
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("SYNC_WORKERS", "0")
	if code, _, errOut := runCmd(context.Background(), "seed", "--users", "2", "--addresses", "6", "--transactions", "300"); code != 0 {
		t.Fatalf("seed: %s", errOut)
	}
	_, token, _ := runCmd(context.Background(), "dev-token", "--subject", "user-1")
	token = strings.TrimSpace(token)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, io.Discard) }()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := get(ctx, base+"/readyz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server never became ready")
		}
	}

	b := newBrowser(t, browser)
	b.do("open the docs", chromedp.Navigate(base+"/docs/index.html"),
		chromedp.WaitVisible(chromedp.CSS(`#operations-transactions-listTransactions`)))
	b.do("authorize",
		chromedp.Click(chromedp.CSS(`.scheme-container button.authorize`)),
		chromedp.WaitVisible(chromedp.CSS(`.modal-ux input`)),
		chromedp.SendKeys(chromedp.CSS(`.modal-ux input`), "Bearer "+token),
		chromedp.Click(chromedp.CSS(`.modal-ux .auth-btn-wrapper button.authorize`)),
		chromedp.WaitVisible(chromedp.CSS(`.modal-ux .auth-btn-wrapper button.btn-done`)))
	b.shot("authorized")
	b.do("close the dialog", chromedp.Click(chromedp.CSS(`.modal-ux .auth-btn-wrapper button.btn-done`)))

	status, body := b.tryItOut("#operations-transactions-listTransactions", "")
	var list struct {
		Items []struct {
			Txid string `json:"txid"`
		} `json:"items"`
	}
	if status != "200" || json.Unmarshal([]byte(body), &list) != nil || len(list.Items) == 0 || len(list.Items[0].Txid) != 64 {
		t.Fatalf("GET /v1/transactions from the docs page: %s %.300s", status, body)
	}
	b.shot("transactions")

	status, body = b.tryItOut("#operations-addresses-createAddress",
		`{"address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "label": "from the docs page"}`)
	var created struct {
		ID    int64  `json:"id"`
		Label string `json:"label"`
	}
	if status != "201" || json.Unmarshal([]byte(body), &created) != nil || created.ID == 0 || created.Label != "from the docs page" {
		t.Fatalf("POST /v1/addresses from the docs page: %s %.300s", status, body)
	}
	b.shot("address-created")
	t.Logf("screenshots in %s", t.ArtifactDir())

	stop()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots int
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1600),
		chromedp.Flag("disable-background-networking", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return &browser{t: t, ctx: ctx}
}

// do runs steps, saving a screenshot and failing the test when one fails.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a screenshot of the window as a numbered artifact.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// tryItOut opens an operation, presses "Try it out", types body into the
// request body when given, presses "Execute" and returns the response's
// status and body as the page shows them.
func (b *browser) tryItOut(op, body string) (status, responseBody string) {
	b.t.Helper()
	css := func(s string) chromedp.CSS { return chromedp.CSS(op + " " + s) }
	b.do("open "+op, chromedp.Click(css(`.opblock-summary`)), chromedp.WaitVisible(css(`.try-out__btn`)),
		chromedp.Click(css(`.try-out__btn`)), chromedp.WaitVisible(css(`button.execute`)))
	if body != "" {
		// Select the example body, as a person would before typing over
		// it, then type the new one key by key.
		selectAll := fmt.Sprintf(`(() => {
			const el = document.querySelector(%q);
			el.focus();
			el.select();
			return el.selectionStart === 0 && el.selectionEnd === el.value.length;
		})()`, op+" textarea.body-param__text")
		if selected, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](selectAll)); err != nil || !selected {
			b.t.Fatalf("select the example body of %s: %v", op, err)
		}
		b.do("type the body into "+op, chromedp.KeyEvent(body))
	}
	b.do("execute "+op, chromedp.Click(css(`button.execute`)),
		chromedp.WaitVisible(css(`.live-responses-table .response-col_status`)))
	var err error
	if status, err = chromedp.Run(b.ctx, chromedp.Text(css(`.live-responses-table .response .response-col_status`))); err != nil {
		b.t.Fatalf("read the status of %s: %v", op, err)
	}
	if responseBody, err = chromedp.Run(b.ctx, chromedp.Text(css(`.live-responses-table .response-col_description pre`))); err != nil {
		b.t.Fatalf("read the body of %s: %v", op, err)
	}
	return strings.TrimSpace(status), responseBody
}
