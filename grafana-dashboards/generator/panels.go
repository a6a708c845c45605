package generator

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// ri is Grafana's range variable for rate(): every rate uses it.
const ri = "[$__rate_interval]"

func temporalServer() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-server", "Temporal server",
		"The Temporal server (all four services in one process): frontend requests, errors and latency, workflow outcomes, matching, persistence. Server metrics come from its tally Prometheus reporter: counters have no _total suffix, timers are histograms in seconds.",
		"temporal").
		WithRow(row("Frontend")).
		WithPanel(ts("Requests by operation", "reqps",
			"gRPC requests the server handles, per second, by operation.",
			rateBy("service_requests", "operation"))).
		WithPanel(ts("Errors by operation", "reqps",
			"Requests that ended in an error, per second, by operation. Alert: Temporal frontend availability.",
			rateBy("service_errors", "operation"))).
		WithPanel(ts("Request latency p95 by operation", "s",
			"95th percentile of request latency per operation (long polls included: they wait up to a minute by design).",
			p95By("service_latency", "operation"))).
		WithPanel(ts("Actions by type", "ops",
			"Billable-style actions (workflow starts, commands, signals) per second, by action type.",
			rateBy("action", "action_type"))).
		WithRow(row("Workflows and task queues")).
		WithPanel(ts("Workflow outcomes", "ops",
			"Closed workflows per second, by outcome.",
			q("A", `sum(rate(workflow_success`+ri+`))`, "success"),
			q("B", `sum(rate(workflow_continued_as_new`+ri+`))`, "continued as new"),
			q("C", `sum(rate(workflow_failed`+ri+`))`, "failed"),
			q("D", `sum(rate(workflow_timeout`+ri+`))`, "timed out"),
			q("E", `sum(rate(workflow_terminate`+ri+`))`, "terminated"),
			q("F", `sum(rate(workflow_cancel`+ri+`))`, "cancelled"))).
		WithPanel(ts("Task schedule-to-start latency p95", "s",
			"Time tasks wait in matching before a worker takes them, by task queue; high means too few workers or slots. Alert: schedule-to-start latency.",
			p95By("task_schedule_to_start_latency", "taskqueue"))).
		WithPanel(ts("Task queue backlog", "short",
			"Approximate number of tasks waiting in each task queue.",
			q("A", `sum by (taskqueue) (approximate_backlog_count)`, "{{taskqueue}}"))).
		WithPanel(ts("Tasks without a poller", "ops",
			"Tasks added to a queue that no worker polls, per second. Alert: no pollers on the enrichment queues.",
			rateBy("no_poller_tasks", "taskqueue"))).
		WithRow(row("Persistence")).
		WithPanel(ts("Persistence requests by operation", "reqps",
			"Calls to PostgreSQL per second, by persistence operation.",
			rateBy("persistence_requests", "operation"))).
		WithPanel(ts("Persistence errors by operation", "reqps",
			"Failed persistence calls per second. Alert: persistence errors.",
			rateBy("persistence_errors", "operation"))).
		WithPanel(ts("Persistence latency p95 by operation", "s",
			"95th percentile of persistence call latency. Alert: persistence latency.",
			p95By("persistence_latency", "operation"))).
		WithPanel(ts("Shard ownership lost", "ops",
			"History shards lost to another host, per second: with one server this should stay at zero.",
			q("A", `sum(rate(service_errors_shard_ownership_lost`+ri+`))`, "lost")))
}

func workersSDK() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-workers", "Workers and SDK",
		"The enrichment worker as the Temporal Go SDK sees it: pollers, slots, task latencies and failures. SDK metrics start with temporal_, counters end in _total, timers in _seconds.",
		"temporal", "worker").
		WithRow(row("Polling")).
		WithPanel(ts("Pollers by task queue", "short",
			"Pollers the worker keeps open, by poller type and task queue. Zero on an enrichment queue fires the no-pollers alert.",
			q("A", `sum by (poller_type, task_queue) (temporal_num_pollers)`, "{{task_queue}} {{poller_type}}"))).
		WithPanel(ts("Task slots available", "short",
			"Free execution slots, by worker type: zero means the worker is saturated.",
			q("A", `sum by (worker_type, task_queue) (temporal_worker_task_slots_available)`, "{{task_queue}} {{worker_type}}"))).
		WithPanel(ts("Workflow task schedule-to-start p95", "s",
			"Time a workflow task waits before this worker picks it up.",
			p95By("temporal_workflow_task_schedule_to_start_latency_seconds", "task_queue"))).
		WithPanel(ts("Activity schedule-to-start p95", "s",
			"Time an activity task waits before a worker picks it up, by activity type.",
			p95By("temporal_activity_schedule_to_start_latency_seconds", "activity_type"))).
		WithRow(row("Execution")).
		WithPanel(ts("Activity execution latency p95", "s",
			"95th percentile of one activity execution (a batch of rows), by activity type.",
			p95By("temporal_activity_execution_latency_seconds", "activity_type"))).
		WithPanel(ts("Activity failures", "ops",
			"Activity executions that returned an error, per second (Temporal retries them).",
			rateBy("temporal_activity_execution_failed_total", "activity_type"))).
		WithPanel(ts("Workflow task failures by reason", "ops",
			"Failed workflow tasks per second; NonDeterminismError means a deploy changed workflow code incompatibly. Alert: non-determinism errors.",
			rateBy("temporal_workflow_task_execution_failed_total", "failure_reason"))).
		WithPanel(ts("Workflows completed", "ops",
			"Workflow runs the worker completed per second, by workflow type (continue-as-new counted apart).",
			q("A", `sum by (workflow_type) (rate(temporal_workflow_completed_total`+ri+`))`, "{{workflow_type}} completed"),
			q("B", `sum by (workflow_type) (rate(temporal_workflow_continue_as_new_total`+ri+`))`, "{{workflow_type}} continued as new"))).
		WithRow(row("Client and process")).
		WithPanel(ts("SDK requests by operation", "reqps",
			"Calls from the worker to the frontend per second (long polls apart).",
			rateBy("temporal_request_total", "operation"),
			q("B", `sum by (operation) (rate(temporal_long_request_total`+ri+`))`, "{{operation}} (long poll)"))).
		WithPanel(ts("SDK request failures", "reqps",
			"Failed calls from the worker to the frontend per second.",
			rateBy("temporal_request_failure_total", "operation"))).
		WithPanel(ts("Sticky cache", "short",
			"Workflow executions cached in the worker (each running job's workflow stays cached between tasks).",
			q("A", `sum(temporal_sticky_cache_size)`, "cached workflows"))).
		WithPanel(ts("Worker memory", "bytes",
			"Resident memory and Go heap in use of the worker process.",
			q("A", `sum(process_resident_memory_bytes{job="worker"})`, "resident memory"),
			q("B", `sum(go_memstats_heap_inuse_bytes{job="worker"})`, "heap in use")))
}

func pipeline() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-pipeline", "Enrichment pipeline",
		"The enrichment pipeline's own metrics (worker/metrics): rows through each stage by outcome, stage latency, error classes, batches, and what Temporal costs per row.",
		"worker", "enrichment").
		WithRow(row("Throughput")).
		WithPanel(st("Jobs running", "short",
			"Job workflows open on the worker (cached between their tasks): zero when the pipeline is idle.",
			q("A", `sum(temporal_sticky_cache_size)`, ""))).
		WithPanel(st("Rows stored / s", "rowsps",
			"Rows written to the results table per second (ok or failed).",
			q("A", `sum(rate(enrichment_rows_total{stage="store"}`+ri+`))`, ""))).
		WithPanel(st("Failed-row ratio", "percentunit",
			"Share of rows leaving a stage with an error class. Alert: the pipeline's failed-row ratio.",
			q("A", `sum(rate(enrichment_rows_total{outcome!="ok"}`+ri+`)) / sum(rate(enrichment_rows_total`+ri+`))`, ""))).
		WithPanel(st("Temporal actions per row", "short",
			"Temporal server actions (workflow starts, commands, signals) per stored row: what a row costs Temporal.",
			q("A", `sum(rate(action`+ri+`)) / sum(rate(enrichment_rows_total{stage="store"}`+ri+`))`, ""))).
		WithPanel(ts("Rows by stage and outcome", "rowsps",
			"Rows leaving each stage per second, by outcome (ok, or the error class).",
			q("A", `sum by (stage, outcome) (rate(enrichment_rows_total`+ri+`))`, "{{stage}} {{outcome}}"))).
		WithPanel(ts("Stage latency p95", "s",
			"95th percentile of the time one row spends in each stage (store: one group write).",
			q("A", `histogram_quantile(0.95, sum by (stage, le) (rate(enrichment_stage_duration_seconds_bucket`+ri+`)))`, "{{stage}} p95"),
			q("B", `histogram_quantile(0.5, sum by (stage, le) (rate(enrichment_stage_duration_seconds_bucket`+ri+`)))`, "{{stage}} p50"))).
		WithRow(row("Errors")).
		WithPanel(ts("Row errors by class", "rowsps",
			"Rows that failed a stage, per second, by stage and error class.",
			q("A", `sum by (stage, outcome) (rate(enrichment_rows_total{outcome!="ok"}`+ri+`))`, "{{stage}} {{outcome}}"))).
		WithPanel(ts("External API errors by class", "ops",
			"Errors from the SERP API and site fetches per second, by API and class.",
			q("A", `sum by (api, class) (rate(enrichment_external_api_errors_total`+ri+`))`, "{{api}} {{class}}"))).
		WithPanel(ts("Batches by kind and outcome", "ops",
			"Batch activities finished per second (search, enrich), by outcome.",
			q("A", `sum by (kind, outcome) (rate(enrichment_batches_total`+ri+`))`, "{{kind}} {{outcome}}"))).
		WithPanel(ts("Temporal actions per row", "short",
			"Temporal server actions per stored row over time.",
			q("A", `sum(rate(action`+ri+`)) / sum(rate(enrichment_rows_total{stage="store"}`+ri+`))`, "actions per row")))
}

// The node filesystems worth watching: real disks, not the pseudo ones.
const realFS = `fstype!~"tmpfs|ramfs|squashfs|nsfs|overlay|proc|sysfs|cgroup2?|devtmpfs|autofs"`

func hostContainers() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-host", "Host and containers",
		"The VPS (node_exporter) and each of the stack's containers (the kit's container-exporter, cAdvisor's metric names): CPU, memory against its limit, restarts, disk and network; and which scrape targets are up.",
		"host", "containers").
		WithRow(row("Host")).
		WithPanel(st("CPU busy", "percentunit",
			"Share of CPU time not idle, all cores.",
			q("A", `1 - avg(rate(node_cpu_seconds_total{mode="idle"}`+ri+`))`, ""))).
		WithPanel(st("Memory available", "percentunit",
			"Memory available for new work, as a share of the total.",
			q("A", `sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)`, ""))).
		WithPanel(st("Disk free (lowest)", "percentunit",
			"Free space on the fullest real filesystem. Alert below 20 %.",
			q("A", `min(node_filesystem_avail_bytes{`+realFS+`} / node_filesystem_size_bytes{`+realFS+`})`, ""))).
		WithPanel(st("Targets up", "short",
			"Scrape targets answering, of all targets.",
			q("A", `sum(up)`, ""))).
		WithPanel(ts("CPU by mode", "percentunit",
			"Share of CPU time per mode, all cores.",
			q("A", `sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}`+ri+`)) / scalar(count(node_cpu_seconds_total{mode="idle"}))`, "{{mode}}"))).
		WithPanel(ts("Memory", "bytes",
			"Used and total memory of the host.",
			q("A", `sum(node_memory_MemTotal_bytes) - sum(node_memory_MemAvailable_bytes)`, "used"),
			q("B", `sum(node_memory_MemTotal_bytes)`, "total"))).
		WithPanel(ts("Disk free by mount", "percentunit",
			"Free space per filesystem; the dashed line is the free space predicted in 24 h from the last 6 h. Alerts: disk below 20 % free, disk full within 24 h.",
			q("A", `node_filesystem_avail_bytes{`+realFS+`} / node_filesystem_size_bytes{`+realFS+`}`, "{{mountpoint}}"),
			q("B", `predict_linear(node_filesystem_avail_bytes{`+realFS+`}[6h], 86400) / node_filesystem_size_bytes{`+realFS+`}`, "{{mountpoint}} in 24 h"))).
		WithPanel(ts("Disk I/O and network", "Bps",
			"Bytes read and written by the disks, received and sent by the network interfaces, per second.",
			q("A", `sum(rate(node_disk_read_bytes_total`+ri+`))`, "disk read"),
			q("B", `sum(rate(node_disk_written_bytes_total`+ri+`))`, "disk written"),
			q("C", `sum(rate(node_network_receive_bytes_total{device!="lo"}`+ri+`))`, "net received"),
			q("D", `sum(rate(node_network_transmit_bytes_total{device!="lo"}`+ri+`))`, "net sent"))).
		WithRow(row("Containers")).
		WithPanel(ts("Container CPU", "percentunit",
			"CPU used by each of the stack's containers, in cores.",
			rateBy("container_cpu_usage_seconds_total", "service"))).
		WithPanel(ts("Container memory", "bytes",
			"Working set of each container (what its memory limit is measured against).",
			q("A", `sum by (service) (container_memory_working_set_bytes)`, "{{service}}"))).
		WithPanel(ts("Container memory against its limit", "percentunit",
			"Working set as a share of each container's memory limit: the memory-leak scenario's signal. Alert: a container's memory near its limit.",
			q("A", `sum by (service) (container_memory_working_set_bytes) / sum by (service) (container_spec_memory_limit_bytes > 0)`, "{{service}}"))).
		WithPanel(ts("Container restarts", "short",
			"Times Docker restarted each container (its restart policy); a rising line is a crash loop. Alert: a container restarting.",
			q("A", `sum by (service) (container_restarts_total)`, "{{service}}"))).
		WithPanel(ts("Containers running and healthy", "short",
			"Containers of the stack running, and those whose health check passes.",
			q("A", `sum(container_running)`, "running"),
			q("B", `sum(container_healthy)`, "healthy"))).
		WithPanel(ts("Targets up by job", "short",
			"Scrape targets answering, by job.",
			q("A", `sum by (job) (up)`, "{{job}}")))
}

func postgresql() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-postgresql", "PostgreSQL",
		"The stack's PostgreSQL (postgres_exporter through a read-only monitoring role): availability, connections against the limit, transactions, cache, locks and sizes.",
		"postgresql").
		WithRow(row("Availability and connections")).
		WithPanel(st("PostgreSQL up", "short",
			"1 when the exporter reaches PostgreSQL. Alert: PostgreSQL down.",
			q("A", `min(pg_up)`, ""))).
		WithPanel(st("Connections used", "percentunit",
			"Backends as a share of max_connections. Alert: connections near the limit.",
			q("A", `sum(pg_stat_database_numbackends) / max(pg_settings_max_connections)`, ""))).
		WithPanel(st("Database size", "bytes",
			"All databases together.",
			q("A", `sum(pg_database_size_bytes)`, ""))).
		WithPanel(st("Cache hit ratio", "percentunit",
			"Blocks found in shared buffers, of all blocks read.",
			q("A", `sum(rate(pg_stat_database_blks_hit`+ri+`)) / (sum(rate(pg_stat_database_blks_hit`+ri+`)) + sum(rate(pg_stat_database_blks_read`+ri+`)))`, ""))).
		WithPanel(ts("Connections by database", "short",
			"Backends per database, and the server's limit.",
			q("A", `sum by (datname) (pg_stat_database_numbackends)`, "{{datname}}"),
			q("B", `max(pg_settings_max_connections)`, "max_connections"))).
		WithPanel(ts("Transactions", "ops",
			"Commits and rollbacks per second, by database.",
			q("A", `sum by (datname) (rate(pg_stat_database_xact_commit`+ri+`))`, "{{datname}} commit"),
			q("B", `sum by (datname) (rate(pg_stat_database_xact_rollback`+ri+`))`, "{{datname}} rollback"))).
		WithRow(row("Work")).
		WithPanel(ts("Rows written and read", "ops",
			"Tuples inserted, updated, deleted and fetched per second, all databases.",
			q("A", `sum(rate(pg_stat_database_tup_inserted`+ri+`))`, "inserted"),
			q("B", `sum(rate(pg_stat_database_tup_updated`+ri+`))`, "updated"),
			q("C", `sum(rate(pg_stat_database_tup_deleted`+ri+`))`, "deleted"),
			q("D", `sum(rate(pg_stat_database_tup_fetched`+ri+`))`, "fetched"))).
		WithPanel(ts("Locks by mode", "short",
			"Locks held, by mode.",
			q("A", `sum by (mode) (pg_locks_count)`, "{{mode}}"))).
		WithPanel(ts("Deadlocks and conflicts", "ops",
			"Deadlocks and temporary files per second (temporary files mean work_mem is too small).",
			q("A", `sum(rate(pg_stat_database_deadlocks`+ri+`))`, "deadlocks"),
			q("B", `sum(rate(pg_stat_database_temp_files`+ri+`))`, "temp files"))).
		WithPanel(ts("Database size by database", "bytes",
			"Size on disk of each database.",
			q("A", `sum by (datname) (pg_database_size_bytes)`, "{{datname}}")))
}

func backups() *dashboard.DashboardBuilder {
	return newDashboard("temporal-kit-backups", "Backups",
		"The backup service (kit-backup, metrics on backup:9630): age of the newest backup per database and target, sizes, duration, failures by stage, and the last verified restore.",
		"backup").
		WithRow(row("Freshness")).
		WithPanel(st("Local backup age, worst database", "s",
			"Age of the newest local backup of the database backed up longest ago. Alert: BackupTooOld (alertThresholds.backupMaxAgeHours, 26 h).",
			q("A", `time() - min(max by (database) (kit_backup_last_success_timestamp_seconds{target="local"}))`, ""))).
		WithPanel(st("Failed runs, all time", "short",
			"Failed backup runs of every stage, as the status file in the backups volume counts them (by stage below). Alert: BackupFailing.",
			q("A", `sum(kit_backup_failures_total)`, ""))).
		WithPanel(st("Backups held", "short",
			"Good backups in the backups volume, after retention (backupRetention).",
			q("A", `max(kit_backup_backups)`, ""))).
		WithPanel(st("Since the last verified restore", "s",
			"Time since a scheduled restore of the newest backup passed its checks (backupVerifySchedule; plain backups only, the host holds no age identity).",
			q("A", `time() - max(kit_backup_last_verified_restore_timestamp_seconds)`, ""))).
		WithPanel(ts("Age of the newest backup", "s",
			"Time since the last successful backup, per database and target (local, offsite).",
			q("A", `time() - max by (database, target) (kit_backup_last_success_timestamp_seconds)`, "{{database}} {{target}}"))).
		WithPanel(ts("Failures by stage", "short",
			"Failed runs by stage: dump, disk, offsite, prune, verify.",
			q("A", `sum by (stage) (increase(kit_backup_failures_total`+ri+`))`, "{{stage}}"))).
		WithRow(row("Size and duration")).
		WithPanel(ts("Dump size by database", "bytes",
			"Size of the last successful dump of each database.",
			q("A", `max by (database) (kit_backup_size_bytes)`, "{{database}}"))).
		WithPanel(ts("Duration", "s",
			"Duration of the last successful backup run and of the last verification restore.",
			q("A", `max(kit_backup_duration_seconds)`, "backup"),
			q("B", `max(kit_backup_verify_duration_seconds)`, "verify restore"))).
		WithPanel(ts("Checksums checked on the host", "s",
			"With backupAgeRecipients the host cannot restore: time since the newest backup's checksums were verified instead.",
			q("A", `time() - max(kit_backup_last_checksum_check_timestamp_seconds)`, "since the checksum check")))
}
