package serp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSearchSendsTheKeyAndClassifiesAnswers(t *testing.T) {
	status := http.StatusOK
	body := `{"organic":[{"title":"Acme","link":"https://acme.example/about","position":1}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Q string `json:"q"`
		}
		_ = json.NewDecoder(r.Body).Decode(&q)
		if r.Method != http.MethodPost || r.URL.Path != "/search" || r.Header.Get("X-API-KEY") != "sk-secret" || q.Q != "Acme" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := New(srv.URL+"/", "sk-secret", time.Second, 4)
	resp, err := c.Search(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if site, err := Site(resp); err != nil || site != "https://acme.example/" {
		t.Errorf("site %q %v", site, err)
	}
	cases := []struct {
		status    int
		body      string
		class     string
		transient bool
	}{
		{429, `{"message":"slow down"}`, "serp_rate_limited", true},
		{500, `oops`, "serp_unavailable", true},
		{401, `{"message":"Unauthorized."}`, "serp_rejected", false},
		{200, `not json`, "serp_bad_response", false},
	}
	for _, k := range cases {
		status, body = k.status, k.body
		_, err := c.Search(context.Background(), "Acme")
		var se *Error
		if !errors.As(err, &se) || se.Class != k.class || se.Transient != k.transient {
			t.Errorf("HTTP %d: %v, want %s transient=%v", k.status, err, k.class, k.transient)
		}
		if err != nil && strings.Contains(err.Error(), "sk-secret") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}

func TestUnreachableAPIIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, "k", time.Second, 1).Search(context.Background(), "Acme")
	var se *Error
	if !errors.As(err, &se) || se.Class != "serp_unavailable" || !se.Transient {
		t.Errorf("got %v", err)
	}
}

func TestSite(t *testing.T) {
	kg := &Response{Organic: []Organic{{Link: "https://www.linkedin.com/company/acme"}, {Link: "http://www.Acme.example/products?x=1"}}}
	kg.KnowledgeGraph = &struct {
		Title   string `json:"title"`
		Website string `json:"website"`
	}{Website: "https://acme-corp.example"}
	cases := []struct {
		r    *Response
		want string
	}{
		{kg, "https://acme-corp.example/"},
		{&Response{Organic: []Organic{{Link: "https://en.wikipedia.org/wiki/Acme"}, {Link: "https://m.facebook.com/acme"}, {Link: "http://www.Acme.example/products?x=1"}}}, "http://www.acme.example/"},
		{&Response{Organic: []Organic{{Link: "https://www.crunchbase.com/organization/acme"}, {Link: "not a url"}}}, ""},
		{&Response{}, ""},
		// Results that point inside are dropped, the next one taken.
		{&Response{Organic: []Organic{{Link: "http://127.0.0.1:8000/jobs"}, {Link: "http://169.254.169.254/latest/user-data"},
			{Link: "http://[::ffff:10.0.0.1]/"}, {Link: "https://acme.example:9090/"}, {Link: "ftp://acme.example/"},
			{Link: "https://acme.example/about"}}}, "https://acme.example/"},
		{&Response{KnowledgeGraph: &struct {
			Title   string `json:"title"`
			Website string `json:"website"`
		}{Website: "http://172.17.0.1/"}}, ""},
	}
	for _, c := range cases {
		got, err := Site(c.r)
		if got != c.want || (c.want == "" && !errors.Is(err, ErrNoSite)) {
			t.Errorf("Site = %q, %v; want %q", got, err, c.want)
		}
	}
}
