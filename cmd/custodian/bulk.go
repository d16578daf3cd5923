package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// runBulk is the requesting agency's client for bulk verification jobs:
// submit a file, follow its progress, fetch its result.
func runBulk(ctx context.Context, args []string, env func(string) string, io stdio) error {
	s, args, err := sub("bulk", args, "submit", "status", "result")
	if err != nil {
		return err
	}
	fs := flags("bulk "+s, io)
	base := fs.String("url", envOr(env, "CUSTODIAN_URL", "http://127.0.0.1:8080"), "the custodian's base URL (or CUSTODIAN_URL)")
	key := fs.String("key", env("CUSTODIAN_KEY"), "your agency's API key (or CUSTODIAN_KEY, which keeps it out of shell history)")
	purpose := fs.String("purpose", "", "submit: the purpose, from GET /v1/purposes")
	fields := fs.String("fields", "", "submit: comma-separated fields to disclose")
	lbKind := fs.String("legal-basis-kind", "", "submit: warrant, court_order or subpoena, when the purpose needs one")
	lbRef := fs.String("legal-basis-reference", "", "submit: the order's or warrant's reference")
	wait := fs.Bool("wait", false, "submit: follow the job until it is decided (a progress bar on a terminal)")
	out := fs.String("out", "", "result: write the CSV here (default standard output)")
	summary := fs.Bool("summary", false, "result: print the JSON summary instead of the CSV")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		return usageError{"custodian bulk: an API key is needed (--key or CUSTODIAN_KEY)"}
	}
	c := &bulkClient{base: strings.TrimRight(*base, "/"), key: *key, http: &http.Client{Timeout: 15 * time.Minute}}
	switch s {
	case "submit":
		if fs.NArg() != 1 || *purpose == "" || *fields == "" {
			return usageError{"usage: custodian bulk submit --purpose P --fields a,b [--legal-basis-kind K --legal-basis-reference R] [--wait] FILE.csv"}
		}
		file, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		q := url.Values{"purpose": {*purpose}, "fields": {*fields}}
		if *lbKind != "" || *lbRef != "" {
			q.Set("legal_basis_kind", *lbKind)
			q.Set("legal_basis_reference", *lbRef)
		}
		var j bulkStatus
		if err := c.do(ctx, "POST", "/v1/bulk?"+q.Encode(), "text/csv", bytes.NewReader(file), "", &j); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "submitted %s: %d rows, %s\n", j.ID, j.Total, j.State)
		if !*wait {
			return nil
		}
		return c.follow(ctx, j.ID, io)
	case "status":
		if fs.NArg() != 1 {
			return usageError{"usage: custodian bulk status JOB_ID"}
		}
		var j bulkStatus
		if err := c.do(ctx, "GET", "/v1/bulk/"+url.PathEscape(fs.Arg(0)), "", nil, "", &j); err != nil {
			return err
		}
		printStatus(io.out, j)
		return nil
	default:
		if fs.NArg() != 1 {
			return usageError{"usage: custodian bulk result [--summary] [--out FILE] JOB_ID"}
		}
		path := "/v1/bulk/" + url.PathEscape(fs.Arg(0)) + "/result"
		if *summary {
			var sum json.RawMessage
			if err := c.do(ctx, "GET", path, "", nil, "application/json", &sum); err != nil {
				return err
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, sum, "", "  ")
			fmt.Fprintln(io.out, pretty.String())
			return nil
		}
		w := io.out
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return c.download(ctx, path, w)
	}
}

func envOr(env func(string) string, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

type bulkStatus struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	Description string          `json:"state_description"`
	Total       int             `json:"rows_total"`
	Done        int             `json:"rows_done"`
	Progress    float64         `json:"progress"`
	ETA         *float64        `json:"eta_seconds"`
	Summary     json.RawMessage `json:"summary"`
	Error       string          `json:"error"`
}

func printStatus(w io.Writer, j bulkStatus) {
	fmt.Fprintf(w, "%s: %s (%s), %d of %d rows\n", j.ID, j.State, j.Description, j.Done, j.Total)
	if j.ETA != nil {
		fmt.Fprintf(w, "about %s left\n", (time.Duration(*j.ETA) * time.Second).Round(time.Second))
	}
	if j.Error != "" {
		fmt.Fprintf(w, "error: %s\n", j.Error)
	}
	if len(j.Summary) > 0 && string(j.Summary) != "null" {
		var pretty bytes.Buffer
		json.Indent(&pretty, j.Summary, "", "  ")
		fmt.Fprintf(w, "summary: %s\n", pretty.String())
	}
}

type bulkClient struct {
	base, key string
	http      *http.Client
}

// do sends a request and decodes a JSON answer into v; a problem answer
// becomes an error with its detail.
func (c *bulkClient) do(ctx context.Context, method, path, contentType string, body io.Reader, accept string, v any) error {
	res, err := c.send(ctx, method, path, contentType, body, accept)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(v)
}

func (c *bulkClient) send(ctx context.Context, method, path, contentType string, body io.Reader, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		var p struct {
			Detail, Field string
		}
		json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&p)
		if p.Field != "" {
			return nil, fmt.Errorf("%s: %s: %s", res.Status, p.Field, p.Detail)
		}
		return nil, fmt.Errorf("%s: %s", res.Status, p.Detail)
	}
	return res, nil
}

func (c *bulkClient) download(ctx context.Context, path string, w io.Writer) error {
	res, err := c.send(ctx, "GET", path, "", nil, "text/csv")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(w, res.Body)
	return err
}

// follow polls a job until it leaves queued and running, drawing a
// progress bar when standard error is a terminal.
func (c *bulkClient) follow(ctx context.Context, id string, io stdio) error {
	tty := isTerminal(io.err)
	for {
		var j bulkStatus
		if err := c.do(ctx, "GET", "/v1/bulk/"+url.PathEscape(id), "", nil, "", &j); err != nil {
			return err
		}
		if tty {
			fmt.Fprintf(io.err, "\r%s", progressBar(j))
		}
		if j.State != "queued" && j.State != "running" {
			if tty {
				fmt.Fprintln(io.err)
			}
			printStatus(io.out, j)
			if j.State == "failed" {
				return fmt.Errorf("bulk job %s failed: %s", j.ID, j.Error)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func progressBar(j bulkStatus) string {
	const width = 30
	n := int(j.Progress * width)
	bar := strings.Repeat("#", n) + strings.Repeat(" ", width-n)
	s := fmt.Sprintf("[%s] %3.0f%% %d/%d rows", bar, 100*j.Progress, j.Done, j.Total)
	if j.ETA != nil {
		s += fmt.Sprintf(", about %s left", (time.Duration(*j.ETA) * time.Second).Round(time.Second))
	}
	return s + "   "
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
