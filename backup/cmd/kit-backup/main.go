// Command kit-backup is the temporal-kit backup service: a scheduler
// daemon and the one-off commands an operator runs.
//
//	kit-backup run                      scheduled backups and verification, /healthz and /metrics
//	kit-backup backup                   one backup now
//	kit-backup list                     the good backups, newest first
//	kit-backup verify [--identity F]    restore the newest backup into scratch databases and check it
//	kit-backup restore [flags]          restore a backup into the PostgreSQL PGHOST names
//	kit-backup fetch --backup ID        copy a backup from the off-site target into the backup directory
//
// Settings come from the environment the stack Definition sets (KIT_BACKUP_*,
// PGHOST, PGPORT, PGUSER, PGPASSWORD_FILE).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/ampledata/temporal-kit/backup/service"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kit-backup:", err)
		os.Exit(1)
	}
}

const usage = `usage: kit-backup run|backup|list|verify|restore|fetch [flags]`

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cfg, err := service.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if err := service.LoadPassword(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	svc := service.New(cfg, log)
	if err := configureOffsite(svc); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	name, rest := args[0], args[1:]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := command{ctx: ctx, svc: svc, cfg: cfg,
		identity: fs.String("identity", os.Getenv("KIT_BACKUP_AGE_IDENTITY_FILE"), "age identity file for encrypted backups (never kept on the host)")}
	var do func() error
	switch name {
	case "run":
		do = c.run
	case "backup":
		do = c.backup
	case "list":
		do = c.list
	case "verify":
		do = c.verify
	case "restore":
		o := restoreFlags(fs, cfg.Dir)
		do = func() error { return c.restore(o) }
	case "fetch":
		id := fs.String("backup", "", "backup id to copy from the off-site target into the backup directory")
		do = func() error { return c.fetch(*id) }
	default:
		return fmt.Errorf("unknown command %q; %s", name, usage)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	return do()
}

// command is what each subcommand works with: the service, its settings and
// the --identity every subcommand takes.
type command struct {
	ctx      context.Context
	svc      *service.Service
	cfg      service.Config
	identity *string
}

func (c command) run() error { return c.svc.Run(c.ctx, *c.identity) }

func (c command) backup() error {
	m, err := c.svc.Backup(c.ctx)
	if err != nil {
		return err
	}
	fmt.Println(m.ID)
	return nil
}

func (c command) list() error {
	good, err := service.List(c.cfg.Dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSIZE\tSHARDS\tDATABASES\tENCRYPTED")
	for _, e := range good {
		var size int64
		for _, f := range e.Manifest.Files() {
			size += f.Size
		}
		var dbs []string
		for _, d := range e.Manifest.Databases {
			dbs = append(dbs, d.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%v\t%v\n", e.ID, e.Time.Format("2006-01-02 15:04:05Z"), size, e.Manifest.HistoryShards, dbs, e.Manifest.Encrypted)
	}
	return tw.Flush()
}

func (c command) verify() error {
	m, err := c.svc.Verify(c.ctx, *c.identity)
	if errors.Is(err, service.ErrChecksumsOnly) {
		fmt.Printf("backup %s: %v\n", m.ID, err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("backup %s restored into scratch databases, row counts match its manifest, scratch databases dropped\n", m.ID)
	return nil
}

// restoreFlags adds restore's flags to fs; the options fill in when fs is parsed.
func restoreFlags(fs *flag.FlagSet, dir string) *service.RestoreOptions {
	o := &service.RestoreOptions{}
	fs.StringVar(&o.ID, "backup", "latest", "backup id (`kit-backup list`), or latest")
	fs.StringVar(&o.From, "from", "", "directory holding the backups (default "+dir+")")
	fs.BoolVar(&o.Replace, "replace", false, "replace target databases that already hold tables (the old ones are kept, renamed, until you drop them)")
	fs.BoolVar(&o.Globals, "globals", false, "also replay roles and tablespaces (pg_dumpall --globals-only) into the target")
	fs.BoolVar(&o.KeepOrphans, "keep-orphans", false, "keep visibility records of runs the restored history does not have (by default they are removed)")
	fs.IntVar(&o.HistoryShards, "history-shards", 0, "the target stack's history shard count (default "+service.EnvHistoryShards+")")
	return o
}

func (c command) restore(o *service.RestoreOptions) error {
	o.Identity = *c.identity
	rep, err := c.svc.Restore(c.ctx, *o)
	if err != nil {
		return err
	}
	fmt.Print(service.NextSteps(rep))
	return nil
}

func (c command) fetch(id string) error {
	s3, ok := c.svc.Offsite.(*service.S3)
	if !ok || id == "" {
		return errors.New("fetch needs --backup ID and an off-site target (stack config backupOffsite)")
	}
	if err := s3.Download(c.ctx, id, c.cfg.Dir); err != nil {
		return err
	}
	fmt.Printf("fetched %s into %s; restore it with: kit-backup restore --backup %s\n", id, c.cfg.Dir, id)
	return nil
}
