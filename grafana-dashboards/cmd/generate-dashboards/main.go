// Command generate-dashboards writes the dashboards' JSON, built by
// grafana-dashboards/generator, into a directory: `go generate
// ./grafana-dashboards/...` runs it in grafana-dashboards/dashboards.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/ampledata/temporal-kit/grafana-dashboards/generator"
)

func main() {
	out := flag.String("out", ".", "directory the JSON files are written to")
	flag.Parse()
	all, err := generator.All()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range all {
		b, err := generator.JSON(d)
		if err != nil {
			log.Fatalf("%s: %v", d.File, err)
		}
		if err := os.WriteFile(filepath.Join(*out, d.File), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote %d dashboards to %s", len(all), *out)
}
