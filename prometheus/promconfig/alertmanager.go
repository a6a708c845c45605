package promconfig

import (
	"go.yaml.in/yaml/v3"
)

// Email is the e-mail receiver: where alerts go and the SMTP server they
// go through. The password is never here: PasswordFile names the file the
// stack's secret is written to.
type Email struct {
	To           string `json:"to"`
	From         string `json:"from"`
	Smarthost    string `json:"smarthost"`
	Username     string `json:"username"`
	RequireTLS   *bool  `json:"requireTls,omitempty"`
	PasswordFile string `json:"-"`
}

// Receivers say where alerts go. Any mix; none means nowhere.
type Receivers struct {
	// WebhookURL receives Alertmanager's JSON (a chat bridge, an incident tool).
	WebhookURL string
	Email      *Email
	// SlackURLFile is the file holding the Slack incoming-webhook URL (a secret).
	SlackURLFile string
	SlackChannel string
}

// None tells whether alerts go nowhere.
func (r Receivers) None() bool { return r.WebhookURL == "" && r.Email == nil && r.SlackURLFile == "" }

// Alerting is the Alertmanager config: receivers and timings. Tests shorten
// the timings; stacks keep the defaults.
type Alerting struct {
	Receivers
	GroupWait, GroupInterval, RepeatInterval string
}

// DefaultAlerting is the timing of real stacks: a group's first notice after
// 30s, changes every 5m, a reminder every 4h while an alert fires.
func DefaultAlerting(r Receivers) Alerting {
	return Alerting{Receivers: r, GroupWait: "30s", GroupInterval: "5m", RepeatInterval: "4h"}
}

// Receiver is the name of the one receiver all alerts route to.
const Receiver = "operators"

// RenderAlertmanager renders alertmanager.yml. Values go through a YAML
// encoder, never a template, so an address cannot change the structure.
func RenderAlertmanager(a Alerting) (string, error) {
	recv := map[string]any{"name": Receiver}
	if a.WebhookURL != "" {
		recv["webhook_configs"] = []map[string]any{{"url": a.WebhookURL, "send_resolved": true}}
	}
	if e := a.Email; e != nil {
		ec := map[string]any{"to": e.To, "from": e.From, "smarthost": e.Smarthost, "send_resolved": true}
		if e.Username != "" {
			ec["auth_username"] = e.Username
		}
		if e.PasswordFile != "" {
			ec["auth_password_file"] = e.PasswordFile
		}
		if e.RequireTLS != nil {
			ec["require_tls"] = *e.RequireTLS
		}
		recv["email_configs"] = []map[string]any{ec}
	}
	if a.SlackURLFile != "" {
		sc := map[string]any{"api_url_file": a.SlackURLFile, "send_resolved": true,
			"title": `{{ .Status | toUpper }}: {{ .CommonLabels.alertname }}`,
			"text":  `{{ range .Alerts }}{{ .Annotations.summary }}{{ "\n" }}{{ end }}`}
		if a.SlackChannel != "" {
			sc["channel"] = a.SlackChannel
		}
		recv["slack_configs"] = []map[string]any{sc}
	}
	cfg := map[string]any{
		"route": map[string]any{
			"receiver":        Receiver,
			"group_by":        []string{"alertname", "job"},
			"group_wait":      a.GroupWait,
			"group_interval":  a.GroupInterval,
			"repeat_interval": a.RepeatInterval,
		},
		"receivers": []any{recv},
		// A target that is down silences the alerts computed from its
		// metrics (each rule carries the job it reads): one page, not five.
		"inhibit_rules": []map[string]any{{
			"source_matchers": []string{`alertname="TargetDown"`},
			"target_matchers": []string{`alertname!="TargetDown"`},
			"equal":           []string{"job"},
		}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return "# Alertmanager of a temporal-kit stack, rendered by the kit from the stack config\n# (alertWebhookUrl, alertEmail, alertSmtpPassword, alertSlackWebhookUrl): do not edit it in the container.\n" + string(b), nil
}
