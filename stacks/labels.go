package stacks

// Labels every container of the stack carries (applyDefaults): the
// exporter and the gate find the stack's containers and what to do about
// them by these, on the engine.
const (
	LabelStack   = "temporal-kit.stack"
	LabelService = "temporal-kit.service"
	// LabelKind is Kind: a "job" exits when done, a "service" must keep running.
	LabelKind = "temporal-kit.kind"
	// LabelHeal says what the gate does when the container is unhealthy:
	// HealRestart, or HealAlert (a restart would not fix its check).
	LabelHeal   = "temporal-kit.heal"
	HealRestart = "restart"
	HealAlert   = "alert"
)

// LabelFollows prefixes the label that ties a service to a job it follows
// (Dependency.Recreate); FollowsLabel names it.
const LabelFollows = "temporal-kit.follows."

// FollowsLabel is the label a service carries for each job it follows. Its
// value is the job container's ID, so a new job container replaces the
// service too, which then reads what the job wrote.
func FollowsLabel(job string) string { return LabelFollows + job }

// LabelTestRun marks what a stacktest run creates (containers, networks),
// so closing the run removes them all, re-run jobs included.
const LabelTestRun = "temporal-kit.test-run"
