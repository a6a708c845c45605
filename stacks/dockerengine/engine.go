// Package dockerengine is the kit's own client of the Docker Engine API,
// over the engine's unix socket or an HTTP view of it (docker-gate): list,
// inspect, one-shot stats and restart of containers. docker-gate, the
// container exporter and the load tool's dockerstats read the engine
// through it; the deploy itself goes through the Pulumi Docker provider.
package dockerengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultSocket is where the engine listens on a Linux host.
const DefaultSocket = "/var/run/docker.sock"

// Engine is the Docker Engine API at one address.
type Engine struct {
	hc   *http.Client
	base string
}

// New talks to the engine at its unix socket (e.g. /var/run/docker.sock).
// Requests carry no timeout of their own: callers bound them by context
// (a restart lasts as long as the container's stop timeout).
func New(socket string) *Engine {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	},
		// A scrape asks about every container at once: keep those connections.
		MaxIdleConnsPerHost: 64}
	return &Engine{hc: &http.Client{Transport: tr}, base: "http://docker"}
}

// NewAt talks to an engine API served over HTTP at base, such as
// docker-gate's read-only view (http://docker-gate:2375); hc nil is
// http.DefaultClient.
func NewAt(base string, hc *http.Client) *Engine {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Engine{hc: hc, base: strings.TrimSuffix(base, "/")}
}

// FromEnv talks to the engine DOCKER_HOST names (unix:// or tcp://), or
// to the default socket without it. TLS (DOCKER_TLS_VERIFY) is refused
// rather than ignored.
func FromEnv() (*Engine, error) {
	host := os.Getenv("DOCKER_HOST")
	if os.Getenv("DOCKER_TLS_VERIFY") != "" {
		return nil, fmt.Errorf("DOCKER_TLS_VERIFY is set: this client speaks plain HTTP only; unset it or use the engine's unix socket")
	}
	switch {
	case host == "":
		return New(DefaultSocket), nil
	case strings.HasPrefix(host, "unix://"):
		return New(strings.TrimPrefix(host, "unix://")), nil
	case strings.HasPrefix(host, "tcp://"):
		return NewAt("http://"+strings.TrimPrefix(host, "tcp://"), nil), nil
	}
	return nil, fmt.Errorf("DOCKER_HOST=%q: want unix:///path/to/docker.sock or tcp://host:port", host)
}

// Error is a refusal by the engine (unknown container, conflict).
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Do sends one request without a body; a status other than 2xx is an
// *Error carrying the engine's message. The caller closes the body.
func (e *Engine) Do(ctx context.Context, method, path string) (*http.Response, error) {
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
		return nil, &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))}
	}
	return resp, nil
}

// Get sends a GET of path; see Do.
func (e *Engine) Get(ctx context.Context, path string) (*http.Response, error) {
	return e.Do(ctx, http.MethodGet, path)
}

func (e *Engine) getJSON(ctx context.Context, path string, into any) error {
	resp, err := e.Get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}

// ContainerPath is the API path of one of a container's endpoints
// ("json", "stats", "restart").
func ContainerPath(id, endpoint string) string {
	return "/containers/" + url.PathEscape(id) + "/" + endpoint
}

// Listed is one row of the engine's container list.
type Listed struct {
	ID     string
	Names  []string
	Labels map[string]string
	State  string
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
	err := e.getJSON(ctx, ListPath(all, filters), &out)
	return out, err
}

// ListPath is the API path of a container list.
func ListPath(all bool, filters map[string][]string) string {
	f, _ := json.Marshal(filters) // a map of string slices always marshals
	path := "/containers/json?filters=" + url.QueryEscape(string(f))
	if all {
		path += "&all=1"
	}
	return path
}

// Container is what the kit reads of a container's inspect data.
type Container struct {
	ID           string
	Name         string
	RestartCount int
	Config       struct {
		Labels map[string]string
	}
	State struct {
		Running   bool
		OOMKilled bool
		StartedAt time.Time
		Health    *struct {
			Status        string
			FailingStreak int
		}
	}
	NetworkSettings struct {
		Networks map[string]struct{ NetworkID string }
	}
}

// Networks names the networks the container is attached to.
func (c Container) Networks() []string {
	var out []string
	for n := range c.NetworkSettings.Networks {
		out = append(out, n)
	}
	return out
}

// Inspect returns a container's inspect data, by ID or name.
func (e *Engine) Inspect(ctx context.Context, id string) (Container, error) {
	var c Container
	err := e.getJSON(ctx, ContainerPath(id, "json"), &c)
	return c, err
}

// Self inspects the container this process runs in: its host name is the
// container's short ID. The kit's own containers find their stack's
// networks this way, since several stacks of one name (test runs) may
// share an engine, never a network.
func (e *Engine) Self(ctx context.Context) (Container, error) {
	host, err := os.Hostname()
	if err != nil {
		return Container{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return e.Inspect(ctx, host)
}

// Restart stops a container (its stop signal, then SIGKILL after its own
// stop timeout) and starts it again.
func (e *Engine) Restart(ctx context.Context, id string) error {
	resp, err := e.Do(ctx, http.MethodPost, ContainerPath(id, "restart"))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
