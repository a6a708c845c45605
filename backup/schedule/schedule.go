// Package schedule reads the backup service's schedules: 5-field cron
// expressions (minute hour day-of-month month day-of-week, or a descriptor
// like @daily). The stack config check and the service share this parser,
// so a schedule the config accepts is one the service can run.
package schedule

import "github.com/robfig/cron/v3"

// Parser reads a schedule; seconds are not a field.
var Parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
