package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/ampledata/temporal-kit/backup/schedule"
)

// Handler serves /healthz and /metrics.
func (s *Service) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(s.Cfg.Dir), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := s.Healthy(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unhealthy", "error": err.Error()})
			return
		}
		st, _ := ReadStatus(s.Cfg.Dir)
		json.NewEncoder(w).Encode(map[string]any{"status": "ok", "backups": st.Backups, "lastSuccess": st.LastSuccess,
			"lastVerified": st.LastVerified, "lastError": st.LastError, "lastErrorTime": st.LastErrorTime})
	})
	return mux
}

// Healthy means the service can do its job: the backup directory is writable.
func (s *Service) Healthy() error {
	p := filepath.Join(s.Cfg.Dir, ".healthz")
	if err := os.WriteFile(p, []byte(time.Now().UTC().Format(time.RFC3339)), 0o600); err != nil {
		return err
	}
	return nil
}

// Run is the daemon: backups and verifications on their schedules (UTC),
// health and metrics on Cfg.Listen, until ctx ends.
func (s *Service) Run(ctx context.Context, identity string) error {
	c := cron.New(cron.WithParser(schedule.Parser), cron.WithLocation(time.UTC),
		cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := c.AddFunc(s.Cfg.BackupSchedule, func() {
		if _, err := s.Backup(ctx); err != nil {
			s.Log.Error("scheduled backup", "err", err)
		}
	}); err != nil {
		return err
	}
	if _, err := c.AddFunc(s.Cfg.VerifySchedule, func() {
		if _, err := s.Verify(ctx, identity); err != nil {
			s.Log.Error("scheduled verification", "err", err)
		}
	}); err != nil {
		return err
	}
	srv := &http.Server{Addr: s.Cfg.Listen, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	c.Start()
	for _, e := range c.Entries() {
		s.Log.Info("scheduled", "next", e.Next.Format(time.RFC3339))
	}
	s.Log.Info("backup service running", "listen", s.Cfg.Listen, "dir", s.Cfg.Dir, "backup", s.Cfg.BackupSchedule, "verify", s.Cfg.VerifySchedule, "retention", s.Cfg.Retention)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			c.Stop()
			return err
		}
	}
	stopped := c.Stop() // waits for a running backup
	<-stopped.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
