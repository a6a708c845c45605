//go:build ignore

// gen writes the dashboards' JSON into this directory: `go generate ./grafana-dashboards`.
package main

import (
	"log"
	"os"

	dashboards "github.com/ampledata/temporal-kit/grafana-dashboards"
)

func main() {
	all, err := dashboards.All()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range all {
		b, err := dashboards.JSON(d)
		if err != nil {
			log.Fatalf("%s: %v", d.File, err)
		}
		if err := os.WriteFile(d.File, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote %d dashboards", len(all))
}
