package stacks

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hardeningConfigs are stacks of every shape: each one's services must all
// drop their privileges, whichever services the config adds.
var hardeningConfigs = map[string]MapSource{
	"dev":               {},
	"local catalog":     {"imageCatalog": "local"},
	"prod with a proxy": prodProxy(MapSource{"target": "hetzner", "sshPrivateKey": "[secret]", "adminCidrs": `["203.0.113.7/32"]`}),
	"existing postgres": {"postgresHost": "db.internal", "postgresPassword": "x"},
	"every secret": {"serpApiKey": "k", "backupOffsite": `{"endpoint":"s3.example.com","bucket":"kit-backups"}`,
		"backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s", "backupAgeRecipients": testRecipient, "alertSlackWebhookUrl": "https://hooks.slack.com/services/x"},
}

// capNameRE is a capability as the engine stores it: any other spelling is
// read back as a change on every refresh.
var capNameRE = regexp.MustCompile(`^CAP_[A-Z_]+$`)

// Every container drops every capability and sets no-new-privileges; the
// few that get capabilities back are named here, so giving a service more
// power is a reviewed change to this test.
func TestEveryServiceDropsItsPrivileges(t *testing.T) {
	mayAdd := map[string]bool{ServicePostgres: true}
	for name, src := range hardeningConfigs {
		d := mustBuild(t, src)
		for _, s := range d.Services {
			t.Run(name+"/"+s.Name, func(t *testing.T) {
				if !slices.Equal(s.CapDrop, []string{"ALL"}) {
					t.Errorf("CapDrop = %v, want [ALL]", s.CapDrop)
				}
				if !s.NoNewPrivileges || !slices.Equal(s.SecurityOpts(), []string{"no-new-privileges"}) {
					t.Errorf("no-new-privileges not set: %v", s.SecurityOpts())
				}
				if len(s.CapAdd) > 0 && !mayAdd[s.Name] && !(s.Kind == OneShot && strings.HasPrefix(s.Name, secretsPrefix)) {
					t.Errorf("adds capabilities %v; only %v may", s.CapAdd, slices.Sorted(maps.Keys(mayAdd)))
				}
				for _, c := range s.CapAdd {
					if !capNameRE.MatchString(c) {
						t.Errorf("capability %q is not spelled as the engine stores it (CAP_NAME)", c)
					}
				}
			})
		}
	}
}

// The capabilities the PostgreSQL entrypoint needs as root, found by
// starting it without each (a fresh volume and a kept one), and nothing
// that writes past file permissions (DAC_OVERRIDE) or reaches beyond its
// own files (NET_RAW, SYS_*, MKNOD).
func TestPostgresGetsBackOnlyWhatItsEntrypointNeeds(t *testing.T) {
	pg, _ := mustBuild(t, MapSource{}).Service(ServicePostgres)
	want := []string{"CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"}
	if got := slices.Sorted(slices.Values(pg.CapAdd)); !slices.Equal(got, want) {
		t.Errorf("postgresql CapAdd = %v, want %v", got, want)
	}
}
