package stacks

import (
	"reflect"
	"regexp"
	"strings"
)

// Image catalogs: the same Definition names either the pinned upstream images
// or the set built offline by infra/images (same versions, same contract).
const (
	CatalogOfficial = "official"
	CatalogLocal    = "local"
)

// Images holds one reference per image the kit runs. JSON names are the keys
// of the `images` stack config object that overrides single entries (e.g. a
// private mirror).
type Images struct {
	Postgres           string `json:"postgresql,omitempty"`
	TemporalServer     string `json:"temporalServer,omitempty"`
	TemporalAdminTools string `json:"temporalAdminTools,omitempty"`
	TemporalUI         string `json:"temporalUI,omitempty"`
	// Grafana is empty in a catalog without Grafana: the stack runs without it.
	Grafana          string `json:"grafana,omitempty"`
	Prometheus       string `json:"prometheus,omitempty"`
	Worker           string `json:"worker,omitempty"`
	Proxy            string `json:"proxy,omitempty"`
	Alertmanager     string `json:"alertmanager,omitempty"`
	NodeExporter     string `json:"nodeExporter,omitempty"`
	PostgresExporter string `json:"postgresExporter,omitempty"`
	Backup           string `json:"backup,omitempty"`
}

// Catalogs are the known image sets. Versions move together: the local set
// is built from the same upstream versions as the official one.
var Catalogs = map[string]Images{
	CatalogOfficial: {
		Postgres:           "postgres:15.10-bookworm",
		TemporalServer:     "temporalio/server:1.32.0",
		TemporalAdminTools: "temporalio/admin-tools:1.32.0",
		TemporalUI:         "temporalio/ui:2.42.1",
		Grafana:            grafanaOfficial,
		Prometheus:         "prom/prometheus:v3.16.0",
		Worker:             "temporal-kit/worker:dev",
		Proxy:              "temporal-kit/caddy:2.11.9", // Caddy with the kit's login ban, built from infra/proxy/Dockerfile
		Alertmanager:       "prom/alertmanager:v0.35.0",
		NodeExporter:       "prom/node-exporter:v1.10.2",
		PostgresExporter:   "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
		// The kit's own program: built from backup/Dockerfile, as the worker is.
		Backup: "temporal-kit/backup:dev",
	},
	CatalogLocal: {
		Postgres:           "temporal-kit-local/postgresql:15",
		TemporalServer:     "temporal-kit-local/temporal-server:1.32.0",
		TemporalAdminTools: "temporal-kit-local/temporal-admin-tools:1.32.0",
		TemporalUI:         "temporal-kit-local/temporal-ui:2.42.1",
		Prometheus:         "temporal-kit-local/prometheus:3.16.0",
		Worker:             "temporal-kit-local/worker:dev",
		Proxy:              "temporal-kit-local/caddy:2.11.9",
		Alertmanager:       "temporal-kit-local/alertmanager:0.35.0",
		NodeExporter:       "temporal-kit-local/node-exporter:1.10.2",
		PostgresExporter:   "temporal-kit-local/postgres-exporter:0.17.1",
		Backup:             "temporal-kit-local/backup:dev",
	},
}

// With returns the catalog with every non-empty field of o replacing its own.
func (im Images) With(o Images) Images {
	mine, theirs := reflect.ValueOf(&im).Elem(), reflect.ValueOf(o)
	for i := range mine.NumField() {
		if ref := theirs.Field(i).String(); ref != "" {
			mine.Field(i).SetString(ref)
		}
	}
	return im
}

type imageField struct{ key, ref string }

// fields lists the catalog's images, each under its key in the `images`
// config object: the field's JSON name, so the keys have one source.
func (im Images) fields() []imageField {
	v := reflect.ValueOf(im)
	out := make([]imageField, v.NumField())
	for i := range out {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		out[i] = imageField{key: key, ref: v.Field(i).String()}
	}
	return out
}

// imageRefRE follows the Docker reference grammar closely enough to catch
// typos: lower-case path components, an optional registry (a host with a dot,
// localhost, or host:port), and a tag or
// digest. A pinned image must carry a tag or a digest.
var imageRefRE = regexp.MustCompile(`^(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::[0-9]+)?/|[a-zA-Z0-9-]+:[0-9]+/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`)

func validImageRef(ref string) bool { return imageRefRE.MatchString(ref) }

// imageTag is the tag of a valid reference; "" when it is pinned by digest.
func imageTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}
