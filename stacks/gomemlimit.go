package stacks

import "strconv"

// goServices are the long-running services whose process is a Go program.
// The Go runtime does not read the container's memory limit: without a
// GOMEMLIMIT its heap grows to twice the live data before a collection, and
// a burst (a large upload, a big scrape) ends in the kernel's OOM kill.
var goServices = map[string]bool{
	ServiceWorker: true, ServiceBackup: true, ServiceTemporal: true, ServiceUI: true,
	ServicePrometheus: true, ServiceAlertmanager: true, ServiceNodeExporter: true,
	ServicePostgresExporter: true, ServiceContainerMetrics: true, ServiceDockerGate: true, ServiceProxy: true,
	ServiceGrafana: true,
}

// goMemLimitPercent of the container limit is the runtime's soft limit: the
// rest is for what the runtime does not count (binary, thread stacks, the
// kernel's accounting of page cache) and for a burst the collector lags.
const goMemLimitPercent = 80

// GoMemLimit is the GOMEMLIMIT value for a container of memoryMB.
func GoMemLimit(memoryMB int) string {
	return strconv.Itoa(memoryMB*goMemLimitPercent/100) + "MiB"
}

// withGoMemLimit sets GOMEMLIMIT on a Go service with a memory limit,
// unless its env (workerEnv, say) sets one already.
func withGoMemLimit(s *Service) {
	if !goServices[s.Name] || s.MemoryMB <= 0 {
		return
	}
	for _, e := range s.Env {
		if e.Name == "GOMEMLIMIT" {
			return
		}
	}
	s.Env = append(s.Env, EnvVar{Name: "GOMEMLIMIT", Value: GoMemLimit(s.MemoryMB)})
}
