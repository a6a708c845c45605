//go:build kitcaddy

// This file is the Caddy module around the Tracker. It builds only inside
// the kit's Caddy build (infra/images: the tag kitcaddy, in a copy of
// Caddy's module), so the kit's own module needs no Caddy dependency.

package loginban

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective(Directive, parseCaddyfile)
}

// Handler refuses, with 429, a client that got the password wrong too
// often, before the handlers after it (basic_auth) hash anything. It must
// run before basic_auth: `order kit_login_ban before basic_auth`.
type Handler struct {
	MaxFailures int            `json:"max_failures,omitempty"`
	Window      caddy.Duration `json:"window,omitempty"`
	Ban         caddy.Duration `json:"ban,omitempty"`
	MaxClients  int            `json:"max_clients,omitempty"`
	// Users are basic_auth's accounts. A login as anyone else is refused
	// here, as a failure: basic_auth would compare it with a fake hash at
	// Caddy's default cost (14), 16 times the kit's, to hide that the user
	// does not exist, which is no secret in the kit (docs/config.md, Outputs).
	Users []string `json:"users,omitempty"`

	tracker *Tracker
	logger  *zap.Logger
}

// CaddyModule registers the handler as http.handlers.kit_login_ban.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers." + Directive, New: func() caddy.Module { return new(Handler) }}
}

// Provision makes the handler's tracker.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.tracker = New(Limits{MaxFailures: h.MaxFailures, Window: time.Duration(h.Window), Ban: time.Duration(h.Ban), MaxClients: h.MaxClients})
	return nil
}

// Validate refuses negative limits (zero takes the default).
func (h *Handler) Validate() error {
	if h.MaxFailures < 0 || h.Window < 0 || h.Ban < 0 || h.MaxClients < 0 {
		return fmt.Errorf("%s: max_failures, window, ban and max_clients must not be negative", Directive)
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	credential := r.Header.Get("Authorization")
	if credential == "" {
		// No password, no hash: basic_auth only asks for one.
		return next.ServeHTTP(w, r)
	}
	key := clientKey(r)
	attempt, wait := h.tracker.Begin(key, []byte(credential))
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return caddyhttp.Error(http.StatusTooManyRequests, fmt.Errorf("client %s: too many failed logins", key))
	}
	if user, _, ok := r.BasicAuth(); ok && len(h.Users) > 0 && !slices.Contains(h.Users, user) {
		h.end(attempt, key, true)
		w.Header().Set("Www-Authenticate", `Basic realm="restricted"`) // basic_auth's default realm
		return caddyhttp.Error(http.StatusUnauthorized, fmt.Errorf("not authenticated: unknown user"))
	}
	err := next.ServeHTTP(w, r)
	var he caddyhttp.HandlerError
	h.end(attempt, key, errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized)
	return err
}

// end records an attempt's outcome and logs a ban it causes.
func (h *Handler) end(a *Attempt, key string, failed bool) {
	if a.End(failed) {
		h.logger.Warn("client banned after repeated failed logins", zap.String("client", key),
			zap.Int("max_failures", h.tracker.lim.MaxFailures), zap.Duration("ban", h.tracker.lim.Ban))
	}
}

// clientKey is the tracker key of the request's client, as Caddy
// determined its address (trusted_proxies honoured).
func clientKey(r *http.Request) string {
	addr, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if addr == "" {
		addr, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	return Key(ip)
}

// UnmarshalCaddyfile reads
//
//	kit_login_ban {
//		max_failures 5
//		window 10m
//		ban 15m
//		max_clients 100000
//		users admin
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		name := d.Val()
		if name == "users" {
			h.Users = append(h.Users, d.RemainingArgs()...)
			if len(h.Users) == 0 {
				return d.ArgErr()
			}
			continue
		}
		if !d.NextArg() {
			return d.ArgErr()
		}
		val := d.Val()
		if d.NextArg() {
			return d.ArgErr()
		}
		switch name {
		case "max_failures", "max_clients":
			n, err := strconv.Atoi(val)
			if err != nil {
				return d.Errf("%s: %v", name, err)
			}
			if name == "max_failures" {
				h.MaxFailures = n
			} else {
				h.MaxClients = n
			}
		case "window", "ban":
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return d.Errf("%s: %v", name, err)
			}
			if name == "window" {
				h.Window = caddy.Duration(dur)
			} else {
				h.Ban = caddy.Duration(dur)
			}
		default:
			return d.Errf("unknown subdirective %q (max_failures, window, ban, max_clients, users)", name)
		}
	}
	return nil
}

func parseCaddyfile(hp httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(hp.Dispenser)
	return h, err
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
