// Package dashboards holds what the stack delivers into the Grafana
// container: the dashboards' JSON, generated from typed Go by
// grafana-dashboards/generator, and Grafana's provisioning files. It embeds
// files only, so the Pulumi program links no dashboard SDK; regenerate the
// JSON with `go generate ./grafana-dashboards/...` (a generator test fails
// when it is stale).
package dashboards

//go:generate go run ../cmd/generate-dashboards

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

// Grafana's paths in the official image (GF_PATHS_PROVISIONING) and where
// the dashboards provider reads the JSON (provisioning/dashboards/temporal-kit.yaml).
const (
	ProvisioningDir = "/etc/grafana/provisioning"
	DashboardsDir   = "/etc/grafana/dashboards/temporal-kit"
	// PrometheusURL is where Grafana reaches the stack's Prometheus: its
	// service name and port on the stack network.
	PrometheusURL = "http://prometheus:9090"
	// DatasourceUID is the uid of the provisioned Prometheus datasource
	// (provisioning/datasources/prometheus.yaml): the default of every
	// dashboard's datasource variable.
	DatasourceUID = "prometheus"
	// Folder is the Grafana folder the dashboards are provisioned into.
	Folder = "temporal-kit"
)

// generated holds the committed JSON and the provisioning files: what the
// stack delivers into the Grafana container.
//
//go:embed *.json provisioning
var generated embed.FS

// JSON returns the committed JSON of one dashboard, by file name.
func JSON(file string) ([]byte, error) { return generated.ReadFile(file) }

// JSONFiles lists the committed dashboards' file names.
func JSONFiles() ([]string, error) { return fs.Glob(generated, "*.json") }

// File is one file for the Grafana container: its path there and content.
type File struct {
	Path    string
	Content string
}

// Files returns the provisioning files and the committed dashboard JSON,
// with their paths in the Grafana container, sorted by path.
func Files() ([]File, error) {
	var out []File
	err := fs.WalkDir(generated, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := generated.ReadFile(p)
		if err != nil {
			return err
		}
		target := path.Join(DashboardsDir, p)
		if dir, rest, ok := cutDir(p); ok && dir == "provisioning" {
			target = path.Join(ProvisioningDir, rest)
		}
		out = append(out, File{Path: target, Content: string(b)})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

func cutDir(p string) (dir, rest string, ok bool) {
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i], p[i+1:], true
		}
	}
	return "", p, false
}
