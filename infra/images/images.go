// Package images builds, offline, every container image the kit's
// Definition names in the local catalog: a Debian base made with debootstrap,
// PostgreSQL from Debian packages, and Temporal, its UI and Prometheus from
// the Go module proxy at the pinned versions, each honouring the contract
// (env vars, ports, paths, default command) of the official image it stands
// in for. An image is rebuilt only when the hash of its inputs changes.
package images

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
)

// Local tags that are not in the stacks catalog: the bases every recipe
// starts from, and the test fixture server.
const (
	DebianBase        = "temporal-kit-local/debian:bookworm"
	RuntimeBase       = "temporal-kit-local/runtime:bookworm"
	FixtureServer     = fixturesvc.Image
	FixtureServerPort = fixturesvc.Port
	// SimulatedVPS is a Debian server in a container (sshd, Docker,
	// cloud-init): the SSH deploy's test target (infra/vpsring).
	SimulatedVPS = "temporal-kit-local/simulated-vps:bookworm"
	// VersityGW is an S3-compatible server serving a directory: the
	// off-site target of the backup service's tests.
	VersityGW     = "temporal-kit-local/versitygw:" + VersityGWRelease
	VersityGWPort = 7070
)

// InputsLabel carries the hash of an image's inputs; an image whose label
// matches the current hash is up to date.
const InputsLabel = "temporal-kit.inputs"

// Pinned upstream versions. They move together with stacks.Catalogs.
const (
	TemporalServerVersion   = "v1.32.0"
	TemporalCLIVersion      = "v1.5.1"
	TemporalUIVersion       = "v2.42.1"
	PrometheusVersion       = "v0.316.0" // Prometheus 3.16.0: the module tags v0.<major><minor>.<patch>
	CaddyVersion            = "v2.11.9"
	NodeExporterVersion     = "v1.10.2"
	PostgresExporterVersion = "v0.17.1"
	AlertmanagerVersion     = "v0.35.0"
	PostgresMajor           = "15"
	DebianSuite             = "bookworm"
	VersityGWVersion        = "v1.8.0"
	VersityGWRelease        = "1.8.0"
)

// Image is one image of the set and how to make it.
type Image struct {
	// Name is the short name used on the command line ("temporal-server").
	Name string
	// Tag is the full local reference.
	Tag string
	// Parent is the Name of the image this one is built FROM ("" for the debootstrap base).
	Parent string
	// Recipe is the directory under recipes/ holding the Dockerfile and scripts.
	Recipe string
	// Binaries are Go programs built on the host and copied into the build context.
	Binaries []GoBinary
	// ModuleFiles are files or trees copied from a pinned module's source.
	ModuleFiles []ModuleFile
	// Vars are extra values for the Dockerfile template.
	Vars map[string]string
}

// ModuleFile copies Path (a file or directory) of a pinned module into the
// build context at Dest.
type ModuleFile struct {
	Module, Version, Path, Dest string
}

func local() stacks.Images { return stacks.Catalogs[stacks.CatalogLocal] }

const (
	serverModule       = "go.temporal.io/server"
	cliModule          = "github.com/temporalio/cli"
	uiModule           = "github.com/temporalio/ui-server/v2"
	prometheusModule   = "github.com/prometheus/prometheus"
	promVersionPkg     = "github.com/prometheus/common/version"
	caddyModule        = "github.com/caddyserver/caddy/v2"
	nodeExporterModule = "github.com/prometheus/node_exporter"
	pgExporterModule   = "github.com/prometheus-community/postgres_exporter"
	alertmanagerModule = "github.com/prometheus/alertmanager"
	versityModule      = "github.com/versity/versitygw"
)

// alertmanagerUI stands in for the web UI that Alertmanager's source embeds
// (ui/app/dist) but its module does not ship: an npm build. The API, amtool
// and delivery are complete without it.
const alertmanagerUI = `<!doctype html><title>Alertmanager</title><p>This Alertmanager was built offline without its web UI (an npm build). Use the API (/api/v2/alerts, /api/v2/status) or amtool.</p>
`

// gzipString compresses s, the same bytes every time (no name, no time).
func gzipString(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s)) // a bytes.Buffer does not fail
	_ = w.Close()
	return b.String()
}

// versionLD stamps github.com/prometheus/common/version as the upstream
// release builds (promu) do.
func versionLD(version string) string {
	return "-X " + promVersionPkg + ".Version=" + strings.TrimPrefix(version, "v") + " -X " + promVersionPkg + ".Branch=HEAD -X " + promVersionPkg + ".BuildUser=temporal-kit"
}

// Set is the whole image set, parents before children.
func Set() []Image {
	im := local()
	return slices.Concat(
		baseImages(im),
		temporalImages(im),
		[]Image{prometheusImage(im), caddyImage(im)},
		exporterImages(im),
		[]Image{alertmanagerImage(im)},
		kitImages(im),
		testImages(),
	)
}

// sameName copies each path of a pinned module to the same path in the
// build context (licences and notices, mostly).
func sameName(module, version string, paths ...string) []ModuleFile {
	files := make([]ModuleFile, len(paths))
	for i, p := range paths {
		files[i] = ModuleFile{module, version, p, p}
	}
	return files
}

// baseImages are the debootstrap base, the runtime every other image
// starts from, and PostgreSQL from Debian's packages.
func baseImages(im stacks.Images) []Image {
	return []Image{
		{Name: "debian", Tag: DebianBase},
		{Name: "runtime", Tag: RuntimeBase, Parent: "debian", Recipe: "runtime"},
		{Name: "postgresql", Tag: im.Postgres, Parent: "runtime", Recipe: "postgresql",
			Vars: map[string]string{"PGMajor": PostgresMajor}},
	}
}

func temporalImages(im stacks.Images) []Image {
	server := GoBinary{Name: "temporal-server", Module: serverModule, Version: TemporalServerVersion, Package: serverModule + "/cmd/server"}
	sqlTool := GoBinary{Name: "temporal-sql-tool", Module: serverModule, Version: TemporalServerVersion, Package: serverModule + "/cmd/tools/sql"}
	cli := GoBinary{Name: "temporal", Module: cliModule, Version: TemporalCLIVersion, Package: cliModule + "/cmd/temporal",
		LDFlags: "-X github.com/temporalio/cli/temporalcli.Version=" + strings.TrimPrefix(TemporalCLIVersion, "v")}
	uiServer := GoBinary{Name: "ui-server", Module: uiModule, Version: TemporalUIVersion, Package: uiModule + "/cmd/server"}
	return []Image{
		{Name: "temporal-server", Tag: im.TemporalServer, Parent: "runtime", Recipe: "temporal-server",
			Binaries:    []GoBinary{server},
			ModuleFiles: sameName(serverModule, TemporalServerVersion, "config/docker.yaml", "config/dynamicconfig/docker.yaml")},
		{Name: "temporal-admin-tools", Tag: im.TemporalAdminTools, Parent: "runtime", Recipe: "temporal-admin-tools",
			Binaries:    []GoBinary{sqlTool, cli},
			ModuleFiles: sameName(serverModule, TemporalServerVersion, "schema")},
		{Name: "temporal-ui", Tag: im.TemporalUI, Parent: "runtime", Recipe: "temporal-ui",
			Binaries:    []GoBinary{uiServer},
			ModuleFiles: sameName(uiModule, TemporalUIVersion, "config/docker.yaml")},
	}
}

func prometheusImage(im stacks.Images) Image {
	promLD := "-X " + promVersionPkg + ".Version=" + prometheusRelease() + " -X " + promVersionPkg + ".Branch=HEAD -X " + promVersionPkg + ".BuildUser=temporal-kit"
	prom := GoBinary{Name: "prometheus", Module: prometheusModule, Version: PrometheusVersion, Package: prometheusModule + "/cmd/prometheus", LDFlags: promLD}
	promtool := GoBinary{Name: "promtool", Module: prometheusModule, Version: PrometheusVersion, Package: prometheusModule + "/cmd/promtool", LDFlags: promLD}
	return Image{Name: "prometheus", Tag: im.Prometheus, Parent: "runtime", Recipe: "prometheus",
		Binaries: []GoBinary{prom, promtool},
		ModuleFiles: append([]ModuleFile{{prometheusModule, PrometheusVersion, "documentation/examples/prometheus.yml", "prometheus.yml"}},
			sameName(prometheusModule, PrometheusVersion, "LICENSE", "NOTICE")...)}
}

// caddyImage is the reverse proxy. caddy version looks for Caddy among the
// build's dependencies, which a build of its own cmd/caddy has not (it is
// the main module): the version goes in as CustomVersion, as Caddy's docs
// say for such builds. The kit's login ban (infra/proxy/loginban) is
// compiled in, in a copy of Caddy's module whose go.mod pins every
// dependency.
func caddyImage(im stacks.Images) Image {
	caddy := GoBinary{Name: "caddy", Module: caddyModule, Version: CaddyVersion, Package: caddyModule + "/cmd/caddy",
		LDFlags: "-X " + caddyModule + ".CustomVersion=" + CaddyVersion, InSource: true, Tags: caddyKitTag, ExtraFiles: caddyKitFiles()}
	return Image{Name: "caddy", Tag: im.Proxy, Parent: "runtime", Recipe: "caddy",
		Binaries:    []GoBinary{caddy},
		ModuleFiles: sameName(caddyModule, CaddyVersion, "LICENSE")}
}

func exporterImages(im stacks.Images) []Image {
	nodeExporter := GoBinary{Name: "node_exporter", Module: nodeExporterModule, Version: NodeExporterVersion, Package: nodeExporterModule, LDFlags: versionLD(NodeExporterVersion)}
	// go install refuses this module (the proxy will not list its versions,
	// where go install looks for a deprecation): built in its source instead.
	pgExporter := GoBinary{Name: "postgres_exporter", Module: pgExporterModule, Version: PostgresExporterVersion, Package: pgExporterModule + "/cmd/postgres_exporter",
		LDFlags: versionLD(PostgresExporterVersion), InSource: true}
	return []Image{
		{Name: "node-exporter", Tag: im.NodeExporter, Parent: "runtime", Recipe: "node-exporter",
			Binaries:    []GoBinary{nodeExporter},
			ModuleFiles: sameName(nodeExporterModule, NodeExporterVersion, "LICENSE")},
		{Name: "postgres-exporter", Tag: im.PostgresExporter, Parent: "runtime", Recipe: "postgres-exporter",
			Binaries:    []GoBinary{pgExporter},
			ModuleFiles: sameName(pgExporterModule, PostgresExporterVersion, "LICENSE")},
	}
}

func alertmanagerImage(im stacks.Images) Image {
	// The UI serves HTML from gzip files only (its build compresses them).
	amExtra := map[string]string{"ui/app/dist/elm/index.html.gz": gzipString(alertmanagerUI), "ui/app/dist/mantine/index.html.gz": gzipString(alertmanagerUI)}
	alertmanager := GoBinary{Name: "alertmanager", Module: alertmanagerModule, Version: AlertmanagerVersion, Package: alertmanagerModule + "/cmd/alertmanager",
		LDFlags: versionLD(AlertmanagerVersion), InSource: true, ExtraFiles: amExtra}
	amtool := GoBinary{Name: "amtool", Module: alertmanagerModule, Version: AlertmanagerVersion, Package: alertmanagerModule + "/cmd/amtool",
		LDFlags: versionLD(AlertmanagerVersion)}
	return Image{Name: "alertmanager", Tag: im.Alertmanager, Parent: "runtime", Recipe: "alertmanager",
		Binaries:    []GoBinary{alertmanager, amtool},
		ModuleFiles: sameName(alertmanagerModule, AlertmanagerVersion, "LICENSE")}
}

// kitImages are built from the kit's own commands.
func kitImages(im stacks.Images) []Image {
	return []Image{
		{Name: "worker", Tag: im.Worker, Parent: "runtime", Recipe: "worker",
			Binaries: []GoBinary{{Name: "worker", Package: "./worker/cmd/worker"}, {Name: "container-exporter", Package: "./prometheus/cmd/container-exporter"},
				{Name: "docker-gate", Package: "./infra/dockergate/cmd/docker-gate"}},
			Vars: map[string]string{"Port": fmt.Sprint(stacks.PortWorkerAPI)}},
		{Name: "backup", Tag: im.Backup, Parent: "runtime", Recipe: "backup",
			Binaries: []GoBinary{{Name: "kit-backup", Package: "./backup/cmd/kit-backup"}},
			Vars:     map[string]string{"Port": fmt.Sprint(stacks.PortBackupMetrics), "PGMajor": PostgresMajor}},
	}
}

// testImages are the kit's tests' stand-ins: the fixture server (SERP API
// and web), an S3 server, and a VPS.
func testImages() []Image {
	return []Image{
		{Name: "fixture-server", Tag: FixtureServer, Parent: "runtime", Recipe: "fixture-server",
			Binaries: []GoBinary{{Name: "fixture-server", Package: "./worker/cmd/fixture-server"}},
			Vars:     map[string]string{"Port": fmt.Sprint(FixtureServerPort)}},
		{Name: "versitygw", Tag: VersityGW, Parent: "runtime", Recipe: "versitygw",
			Binaries: []GoBinary{{Name: "versitygw", Module: versityModule, Version: VersityGWVersion, Package: versityModule + "/cmd/versitygw",
				LDFlags: "-X main.Version=" + VersityGWVersion}},
			ModuleFiles: sameName(versityModule, VersityGWVersion, "LICENSE", "NOTICE"),
			Vars:        map[string]string{"Port": fmt.Sprint(VersityGWPort)}},
		{Name: "vps", Tag: SimulatedVPS, Parent: "runtime", Recipe: "vps"},
	}
}

// prometheusRelease maps the module version v0.316.0 to the release 3.16.0.
func prometheusRelease() string {
	v := strings.TrimPrefix(PrometheusVersion, "v0.")
	parts := strings.SplitN(v, ".", 2)
	if len(parts) != 2 || len(parts[0]) < 2 {
		panic("images: unexpected Prometheus module version " + PrometheusVersion)
	}
	minor, err := strconv.Atoi(parts[0][1:])
	if err != nil {
		panic("images: unexpected Prometheus module version " + PrometheusVersion)
	}
	return parts[0][:1] + "." + strconv.Itoa(minor) + "." + parts[1]
}

// Select returns the named images and the parents they need, in build
// order. No names means the whole set.
func Select(names ...string) ([]Image, error) {
	all := Set()
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]Image{}
	for _, im := range all {
		byName[im.Name] = im
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("unknown image %q; known images: %s", n, strings.Join(Names(), ", "))
		}
		for p := n; p != ""; p = byName[p].Parent {
			want[p] = true
		}
	}
	var out []Image
	for _, im := range all {
		if want[im.Name] {
			out = append(out, im)
		}
	}
	return out, nil
}

// Names lists the image names in build order.
func Names() []string {
	var out []string
	for _, im := range Set() {
		out = append(out, im.Name)
	}
	return out
}
