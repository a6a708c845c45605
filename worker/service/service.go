// Package service assembles the worker process from a Config: database and
// migrations, Temporal client and workers, the stages, the job API and the
// metrics. cmd/worker runs it; the e2e test and the load tool run it in-process.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ampledata/temporal-kit/worker/config"
	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/fetch"
	"github.com/ampledata/temporal-kit/worker/jobapi"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/metrics"
	"github.com/ampledata/temporal-kit/worker/pipeline"
	"github.com/ampledata/temporal-kit/worker/serp"
	"github.com/ampledata/temporal-kit/worker/store"
)

// Service is a running worker process.
type Service struct {
	Cfg      config.Config
	Log      *slog.Logger
	Store    *store.Store
	Temporal client.Client
	Jobs     *enrichment.Jobs
	Stages   *pipeline.Stages
	Metrics  *metrics.Pipeline
	Registry *prometheus.Registry
	// SDKMetrics is the Temporal SDK's metrics (also in Registry).
	SDKMetrics *metrics.Temporal
	API        *jobapi.API

	workers []worker.Worker
}

// SearchQueue is the task queue of the SERP stage for a main queue.
func SearchQueue(queue string) string { return queue + "-serp" }

// New connects to PostgreSQL (creating the database and applying migrations)
// and to Temporal, waiting up to wait for each to answer (they may start
// alongside the worker).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, wait time.Duration) (*Service, error) {
	s := &Service{Cfg: cfg, Log: log, Registry: prometheus.NewRegistry()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Metrics = metrics.NewPipeline(s.Registry)
	s.SDKMetrics = metrics.NewTemporal()
	s.Registry.MustRegister(s.SDKMetrics)

	if err := s.openStore(ctx, wait); err != nil {
		return nil, err
	}
	if err := s.dialTemporal(ctx, wait); err != nil {
		s.Store.Close()
		return nil, err
	}
	s.Stages = s.newStages()
	s.Jobs = &enrichment.Jobs{Client: s.Temporal, Queue: cfg.TaskQueue, Template: enrichment.JobInput{
		BatchSize: cfg.BatchSize, Parallelism: cfg.BatchParallelism, BatchesPerRun: cfg.BatchesPerRun,
		RowAttempts: cfg.RowAttempts, SearchQueue: SearchQueue(cfg.TaskQueue),
	}}
	s.API = &jobapi.API{
		Store: s.Store, Workflows: s.Jobs, Log: log,
		Metrics: promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}),
		Ready:   s.Ready,
		MaxBody: cfg.JobMaxBytes,
		Limits:  jobcsv.Limits{MaxRows: cfg.JobMaxRows, MaxColumns: cfg.JobMaxColumns, MaxLineBytes: cfg.JobMaxLineBytes},
	}
	return s, nil
}

// openStore creates the database if needed, once PostgreSQL answers, then
// opens it and applies the migrations.
func (s *Service) openStore(ctx context.Context, wait time.Duration) error {
	cfg, log := s.Cfg, s.Log
	err := retryStartup(ctx, wait, log, "postgres", func() error {
		created, err := store.EnsureDatabase(ctx, cfg.PostgresURL("postgres"), cfg.PGDatabase)
		if created {
			log.Info("created database", "database", cfg.PGDatabase)
		}
		return err
	})
	if err != nil {
		return err
	}
	conns := int32(min(32, max(4, cfg.BatchParallelism*2)))
	if s.Store, err = store.Open(ctx, cfg.PostgresURL(cfg.PGDatabase), conns); err != nil {
		return err
	}
	applied, err := s.Store.Migrate(ctx)
	if err != nil {
		s.Store.Close()
		return err
	}
	log.Info("database ready", "database", cfg.PGDatabase, "migrations_applied", applied)
	return nil
}

// dialTemporal connects to Temporal once its frontend knows the namespace.
func (s *Service) dialTemporal(ctx context.Context, wait time.Duration) error {
	cfg := s.Cfg
	return retryStartup(ctx, wait, s.Log, "temporal", func() error {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:       cfg.TemporalAddress,
			Namespace:      cfg.TemporalNamespace,
			Logger:         tlog.NewStructuredLogger(s.Log.With("component", "temporal-sdk")),
			MetricsHandler: s.SDKMetrics,
		})
		if err != nil {
			return err
		}
		// A namespace registered a moment ago is unknown to the frontend
		// until its namespace cache refreshes: wait for a namespace-scoped
		// call to work, so the first POST /jobs does not fail.
		if _, err := c.DescribeTaskQueue(ctx, cfg.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW); err != nil {
			c.Close()
			return fmt.Errorf("namespace %s: %w", cfg.TemporalNamespace, err)
		}
		s.Temporal = c
		return nil
	})
}

// newStages makes the pipeline's stages: the fetcher, and the SERP client
// when a key is set.
func (s *Service) newStages() *pipeline.Stages {
	cfg := s.Cfg
	fetcher := fetch.New(fetch.Options{
		UserAgent: cfg.UserAgent, Timeout: cfg.FetchTimeout, MaxBytes: cfg.FetchMaxBytes,
		PerHost: cfg.FetchPerDomain, MaxConns: cfg.FetchConcurrency * 2, Proxy: cfg.Proxy, Allow: cfg.FetchAllow,
	})
	if len(cfg.FetchAllow) > 0 {
		s.Log.Warn("FETCH_ALLOW_CIDRS lets the fetcher reach non-public networks: for test fixtures only", "cidrs", cfg.FetchAllow)
	}
	var search pipeline.Searcher // nil: rows without a domain fail with serp_not_configured
	if cfg.SerpAPIKey != "" {
		search = serp.New(cfg.SerpAPIURL, cfg.SerpAPIKey, cfg.SerpTimeout, cfg.SearchConcurrency)
	} else {
		s.Log.Warn("SERP_API_KEY is not set: only rows with a domain will be enriched")
	}
	return pipeline.NewStages(search, fetcher, s.Metrics, cfg.FetchMaxPages, cfg.SearchConcurrency, cfg.FetchConcurrency)
}

// StartWorkers registers the workflow and activities and starts polling.
func (s *Service) StartWorkers() error {
	acts := &enrichment.Activities{DB: s.Store, Stages: s.Stages, Metrics: s.Metrics, FlushEvery: 100, HeartbeatEvery: time.Second}
	main := worker.New(s.Temporal, s.Cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: s.Cfg.ActivitySlots,
		WorkerStopTimeout:                  s.Cfg.ShutdownTimeout,
	})
	main.RegisterWorkflow(enrichment.JobWorkflow)
	main.RegisterActivity(acts.EnrichBatch)

	serpOpts := worker.Options{
		MaxConcurrentActivityExecutionSize: s.Cfg.ActivitySlots,
		WorkerStopTimeout:                  s.Cfg.ShutdownTimeout,
	}
	if s.Cfg.SerpRatePerSecond > 0 {
		// The server hands out at most this many search batches per second
		// to all workers together: the SERP API's budget in batches.
		serpOpts.TaskQueueActivitiesPerSecond = s.Cfg.SerpRatePerSecond / float64(s.Cfg.BatchSize)
	}
	search := worker.New(s.Temporal, SearchQueue(s.Cfg.TaskQueue), serpOpts)
	search.RegisterActivity(acts.SearchBatch)
	for _, w := range []worker.Worker{main, search} {
		if err := w.Start(); err != nil {
			s.stopWorkers()
			return fmt.Errorf("start worker: %w", err)
		}
		s.workers = append(s.workers, w)
	}
	s.Log.Info("polling", "queue", s.Cfg.TaskQueue, "search_queue", SearchQueue(s.Cfg.TaskQueue))
	return nil
}

// Ready checks that Temporal and PostgreSQL answer.
func (s *Service) Ready(ctx context.Context) error {
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	if err := s.Store.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// StopWorkers stops polling and lets in-flight activities finish within
// the configured timeout; after it their contexts are cancelled and they
// store what they finished before returning.
func (s *Service) StopWorkers() {
	s.Log.Info("stopping workers: no new tasks, finishing in-flight work", "timeout", s.Cfg.ShutdownTimeout.String())
	s.stopWorkers()
}

// Close closes the Temporal client and the database pool.
func (s *Service) Close() {
	s.Temporal.Close()
	s.Store.Close()
	s.Log.Info("stopped")
}

func (s *Service) stopWorkers() {
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.Stop() }()
	}
	wg.Wait()
	s.workers = nil
}

// retryStartup waits for a dependency at start; it is not a pipeline retry.
func retryStartup(ctx context.Context, wait time.Duration, log *slog.Logger, what string, f func() error) error {
	deadline := time.Now().Add(wait)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not reachable after %s: %w", what, wait, err)
		}
		log.Warn("waiting for "+what, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
