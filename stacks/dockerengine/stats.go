package dockerengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Stats is what the kit reads of one stats answer.
type Stats struct {
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Limit uint64            `json:"limit"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
	} `json:"cpu_stats"`
	PidsStats struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
}

// Stats reads one sample of a container's counters: one-shot, so the
// engine does not wait a second for a second sample (Engine API 1.41+),
// and never a stream, which docker-gate refuses.
func (e *Engine) Stats(ctx context.Context, id string) (Stats, error) {
	resp, err := e.Get(ctx, ContainerPath(id, "stats")+"?stream=false&one-shot=true")
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	return DecodeStats(resp.Body)
}

// DecodeStats reads one stats answer.
func DecodeStats(r io.Reader) (Stats, error) {
	var st Stats
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return Stats{}, fmt.Errorf("stats answer: %w", err)
	}
	return st, nil
}

// WorkingSet is the memory a container uses as cAdvisor and `docker stats`
// count it, and as its limit is measured: usage less the inactive page
// cache the kernel reclaims first (cgroup v2 names it inactive_file, v1
// total_inactive_file). A cache larger than the usage is not subtracted.
func (s Stats) WorkingSet() uint64 {
	m := s.MemoryStats
	inactive, ok := m.Stats["inactive_file"]
	if !ok {
		inactive = m.Stats["total_inactive_file"]
	}
	if inactive < m.Usage {
		return m.Usage - inactive
	}
	return m.Usage
}

// CPU is the container's cumulative CPU time (user and system, every
// process of its cgroup) since it started.
func (s Stats) CPU() time.Duration { return time.Duration(s.CPUStats.CPUUsage.TotalUsage) }
