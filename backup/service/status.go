package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is what the service remembers between runs: the outcome of the
// last backups and verifications. It lives in the backup directory, so a
// one-off `kit-backup backup` run in the container shows in the metrics the
// daemon serves, and the figures survive a restart.
type Status struct {
	// LastSuccess is the end of the last successful dump per database and
	// target ("local", "offsite").
	LastSuccess map[string]map[string]time.Time `json:"lastSuccess"`
	// LastSize is the size in bytes of each database's last dump.
	LastSize map[string]int64 `json:"lastSize"`
	// LastDuration of the last successful backup run, seconds.
	LastDuration float64 `json:"lastDuration"`
	// Failures counts failed runs by stage (dump, disk, offsite, prune, verify).
	Failures map[string]int64 `json:"failures"`
	// LastError is the last failure's message.
	LastError     string    `json:"lastError,omitempty"`
	LastErrorTime time.Time `json:"lastErrorTime,omitzero"`
	// LastVerified is when a restore of a backup last passed verification, and which backup.
	LastVerified       time.Time `json:"lastVerified,omitzero"`
	LastVerifiedBackup string    `json:"lastVerifiedBackup,omitempty"`
	LastVerifyDuration float64   `json:"lastVerifyDuration"`
	// LastChecksumCheck is when an encrypted backup's checksums were last
	// verified without a restore (no identity on the host).
	LastChecksumCheck time.Time `json:"lastChecksumCheck,omitzero"`
	// OffsiteDeleteDenied counts off-site prunes the bucket refused (a
	// write-only key: the bucket's rules expire old copies instead).
	OffsiteDeleteDenied int64 `json:"offsiteDeleteDenied"`
	// Backups is how many good backups the local target holds.
	Backups int `json:"backups"`
}

const statusFile = ".status.json"

var statusMu sync.Mutex

func emptyStatus() Status {
	return Status{LastSuccess: map[string]map[string]time.Time{}, LastSize: map[string]int64{}, Failures: map[string]int64{}}
}

// ReadStatus loads dir's status; a missing file is an empty status.
func ReadStatus(dir string) (Status, error) {
	s := emptyStatus()
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return emptyStatus(), fmt.Errorf("%s: %w", filepath.Join(dir, statusFile), err)
	}
	if s.LastSuccess == nil {
		s.LastSuccess = map[string]map[string]time.Time{}
	}
	if s.LastSize == nil {
		s.LastSize = map[string]int64{}
	}
	if s.Failures == nil {
		s.Failures = map[string]int64{}
	}
	return s, nil
}

// UpdateStatus applies f to dir's status under a file lock.
func UpdateStatus(dir string, f func(*Status)) error {
	statusMu.Lock()
	defer statusMu.Unlock()
	unlock, err := lockFile(filepath.Join(dir, ".status.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	s, err := ReadStatus(dir)
	if err != nil {
		s = emptyStatus() // a damaged status file must not stop backups
	}
	f(&s)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+statusFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record status: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, statusFile))
}

// lockFile takes an exclusive flock on path.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// tryLock takes the run lock without waiting: one backup, restore or
// verification at a time per backup directory.
func tryLock(dir string) (func(), error) {
	path := filepath.Join(dir, ".run.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another backup, restore or verification is running in %s; try again when it is done", dir)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Collector exports the status file as Prometheus metrics at each scrape.
type Collector struct {
	Dir string

	lastSuccess, size, duration, failures, verified, verifyDuration, backups, statusOK, checksums, deleteDenied *prometheus.Desc
}

// NewCollector describes the metrics.
func NewCollector(dir string) *Collector {
	return &Collector{
		Dir:            dir,
		lastSuccess:    prometheus.NewDesc("kit_backup_last_success_timestamp_seconds", "End of the last successful backup, per database and target (local, offsite).", []string{"database", "target"}, nil),
		size:           prometheus.NewDesc("kit_backup_size_bytes", "Size of the last successful dump, per database.", []string{"database"}, nil),
		duration:       prometheus.NewDesc("kit_backup_duration_seconds", "Duration of the last successful backup run.", nil, nil),
		failures:       prometheus.NewDesc("kit_backup_failures_total", "Failed backup runs by stage (dump, disk, offsite, prune, verify).", []string{"stage"}, nil),
		verified:       prometheus.NewDesc("kit_backup_last_verified_restore_timestamp_seconds", "When a scheduled restore of the newest backup last passed its checks.", nil, nil),
		verifyDuration: prometheus.NewDesc("kit_backup_verify_duration_seconds", "Duration of the last successful verification restore.", nil, nil),
		backups:        prometheus.NewDesc("kit_backup_backups", "Good backups held by the local target.", nil, nil),
		checksums:      prometheus.NewDesc("kit_backup_last_checksum_check_timestamp_seconds", "When the newest encrypted backup's checksums were last verified on the host (no identity there for a restore).", nil, nil),
		deleteDenied:   prometheus.NewDesc("kit_backup_offsite_delete_denied_total", "Off-site prunes the bucket refused: the key may not delete (the recommended setup; the bucket's lifecycle or object lock expires old copies).", nil, nil),
		statusOK:       prometheus.NewDesc("kit_backup_status_readable", "1 when the service can read its status file.", nil, nil),
	}
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lastSuccess, c.size, c.duration, c.failures, c.verified, c.verifyDuration, c.backups, c.statusOK, c.checksums, c.deleteDenied} {
		ch <- d
	}
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s, err := ReadStatus(c.Dir)
	ok := 1.0
	if err != nil {
		ok = 0
	}
	ch <- prometheus.MustNewConstMetric(c.statusOK, prometheus.GaugeValue, ok)
	for db, targets := range s.LastSuccess {
		for target, t := range targets {
			ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(t.Unix()), db, target)
		}
	}
	for db, n := range s.LastSize {
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), db)
	}
	ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, s.LastDuration)
	for _, stage := range Stages {
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.Failures[stage]), stage)
	}
	if !s.LastVerified.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.verified, prometheus.GaugeValue, float64(s.LastVerified.Unix()))
	}
	if !s.LastChecksumCheck.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.checksums, prometheus.GaugeValue, float64(s.LastChecksumCheck.Unix()))
	}
	ch <- prometheus.MustNewConstMetric(c.verifyDuration, prometheus.GaugeValue, s.LastVerifyDuration)
	ch <- prometheus.MustNewConstMetric(c.backups, prometheus.GaugeValue, float64(s.Backups))
	ch <- prometheus.MustNewConstMetric(c.deleteDenied, prometheus.CounterValue, float64(s.OffsiteDeleteDenied))
}

// Failure stages.
const (
	StageDump    = "dump"    // a database or pg_dump failed
	StageDisk    = "disk"    // the backup volume is full
	StageOffsite = "offsite" // the off-site copy failed (the local one is kept)
	StagePrune   = "prune"   // retention could not delete an old backup
	StageVerify  = "verify"  // a verification restore failed
)

// Stages are every failure stage, exported at zero until they happen.
var Stages = []string{StageDump, StageDisk, StageOffsite, StagePrune, StageVerify}
