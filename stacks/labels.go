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
