// Package dockergate is the stack's one holder of the Docker engine's
// socket. It restarts the stack's containers that stay unhealthy (Docker
// restarts only those whose process exits) and serves the container
// exporter a narrow, read-only view of the engine: the stack's containers,
// their inspect data without env, their one-shot stats; nothing else.
package dockergate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Engine is the Docker Engine API.
type Engine struct {
	hc   *http.Client
	base string
}

// NewEngine talks to the engine at its unix socket (e.g. /var/run/docker.sock).
func NewEngine(socket string) *Engine {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	},
		// A scrape asks about every container at once: keep those connections.
		MaxIdleConnsPerHost: 64}
	return &Engine{hc: &http.Client{Transport: tr}, base: "http://docker"}
}

// NewEngineAt talks to an engine API served over HTTP at base (tests).
func NewEngineAt(base string, hc *http.Client) *Engine {
	return &Engine{hc: hc, base: strings.TrimSuffix(base, "/")}
}

// do sends one request; a status other than 2xx is an error carrying the
// engine's message.
func (e *Engine) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, &EngineError{Status: resp.StatusCode, Msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))}
	}
	return resp, nil
}

// EngineError is a refusal by the engine (unknown container, conflict).
type EngineError struct {
	Status int
	Msg    string
}

func (e *EngineError) Error() string { return e.Msg }

func (e *Engine) getJSON(ctx context.Context, path string, into any) error {
	resp, err := e.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}

// Container is what the gate needs of a container's inspect data.
type Container struct {
	ID     string
	Name   string
	Config struct {
		Labels map[string]string
	}
	State struct {
		Health *struct {
			Status        string
			FailingStreak int
		}
	}
	NetworkSettings struct {
		Networks map[string]struct{ NetworkID string }
	}
}

// Inspect returns a container's inspect data.
func (e *Engine) Inspect(ctx context.Context, id string) (Container, error) {
	var c Container
	err := e.getJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", &c)
	return c, err
}

// Listed is one row of the engine's container list.
type Listed struct {
	ID     string
	Names  []string
	Labels map[string]string
}

// Name is the container's name without Docker's leading slash.
func (l Listed) Name() string {
	if len(l.Names) == 0 {
		return l.ID
	}
	return strings.TrimPrefix(l.Names[0], "/")
}

// List returns the containers that match filters, the engine's filter
// object (label, network, health, ...): running ones, or all with all.
func (e *Engine) List(ctx context.Context, all bool, filters map[string][]string) ([]Listed, error) {
	var out []Listed
	err := e.getJSON(ctx, listPath(all, filters), &out)
	return out, err
}

func listPath(all bool, filters map[string][]string) string {
	f, _ := json.Marshal(filters) // a map of string slices always marshals
	path := "/containers/json?filters=" + url.QueryEscape(string(f))
	if all {
		path += "&all=1"
	}
	return path
}

// Restart stops a container (its stop signal, then SIGKILL after its own
// stop timeout) and starts it again.
func (e *Engine) Restart(ctx context.Context, id string) error {
	resp, err := e.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/restart")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Self finds the gate's own container (its host name is the container's
// short ID) and the networks it is on.
func (e *Engine) Self(ctx context.Context, hostname string) (Container, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := e.Inspect(ctx, hostname)
	if err != nil {
		return Container{}, nil, err
	}
	var nets []string
	for n := range c.NetworkSettings.Networks {
		nets = append(nets, n)
	}
	return c, nets, nil
}
