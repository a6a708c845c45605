// Package serp is a client of a Serper-style search API (POST /search with
// an X-API-KEY header, JSON in and out), used to find a company's web site.
package serp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/worker/netguard"
)

// Error is a failed search, classified for retries and reports.
type Error struct {
	Class     string // serp_rate_limited, serp_unavailable, serp_rejected, serp_bad_response, no_search_result
	Transient bool   // worth retrying later
	Err       error
}

func (e *Error) Error() string { return e.Class + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Response is the part of Serper's answer the pipeline reads.
type Response struct {
	KnowledgeGraph *struct {
		Title   string `json:"title"`
		Website string `json:"website"`
	} `json:"knowledgeGraph,omitempty"`
	Organic []Organic `json:"organic"`
}

// Organic is one organic result.
type Organic struct {
	Title    string `json:"title"`
	Link     string `json:"link"`
	Snippet  string `json:"snippet"`
	Position int    `json:"position"`
}

// Client calls the API. The key is sent as a header and never logged.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
}

// New makes a client with its own connection pool and a per-call timeout.
func New(baseURL, key string, timeout time.Duration, maxConns int) *Client {
	tr := &http.Transport{
		Proxy:               nil, // the SERP API is reached directly; HTTP_PROXY is for site fetches
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key, HTTP: &http.Client{Transport: tr, Timeout: timeout}}
}

// Search runs one query.
func (c *Client) Search(ctx context.Context, query string) (*Response, error) {
	body, _ := json.Marshal(map[string]any{"q": query, "num": 10})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/search", bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Class: "serp_rejected", Err: err}
	}
	req.Header.Set("X-API-KEY", c.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Class: "serp_unavailable", Transient: true, Err: redact(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, &Error{Class: "serp_unavailable", Transient: true, Err: redact(err)}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &Error{Class: "serp_rate_limited", Transient: true, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	case resp.StatusCode >= 500:
		return nil, &Error{Class: "serp_unavailable", Transient: true, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	case resp.StatusCode >= 400:
		// 401/403 (bad key, no credits) and 400 (bad query) do not heal by retrying.
		return nil, &Error{Class: "serp_rejected", Err: fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, data)}
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, &Error{Class: "serp_bad_response", Err: fmt.Errorf("decode: %w", err)}
	}
	return &out, nil
}

// directories are result hosts that describe a company but are not its site.
var directories = []string{
	"linkedin.com", "wikipedia.org", "facebook.com", "twitter.com", "x.com", "instagram.com",
	"crunchbase.com", "bloomberg.com", "yelp.com", "glassdoor.com", "indeed.com", "youtube.com",
	"zoominfo.com", "dnb.com", "yellowpages.com", "tripadvisor.com", "amazon.com",
}

// ErrNoSite is returned by Site when no result looks like the company's site.
var ErrNoSite = &Error{Class: "no_search_result", Err: errors.New("no result looks like the company's site")}

// Site picks the company's home page: the knowledge graph's website, else
// the best organic result that is not a directory.
func Site(r *Response) (string, error) {
	if r.KnowledgeGraph != nil && r.KnowledgeGraph.Website != "" {
		if s, ok := root(r.KnowledgeGraph.Website); ok {
			return s, nil
		}
	}
	for _, o := range r.Organic {
		s, ok := root(o.Link)
		if !ok || isDirectory(s) {
			continue
		}
		return s, nil
	}
	return "", ErrNoSite
}

// publicSites refuses result links the worker must not follow: search
// results are written by strangers, so a host that is an IP address or a
// port other than 80/443 is dropped like a directory.
var publicSites = netguard.New(nil)

func root(link string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || publicSites.CheckURL(u) != nil {
		return "", false
	}
	return u.Scheme + "://" + strings.ToLower(u.Host) + "/", true
}

func isDirectory(site string) bool {
	u, _ := url.Parse(site)
	h := strings.TrimPrefix(u.Hostname(), "www.")
	for _, d := range directories {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// redact drops the URL's query from transport errors (belt and braces: the
// key travels in a header, but a misconfigured base URL might carry one).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
