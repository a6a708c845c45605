package config_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/worker/config"
	"github.com/ampledata/temporal-kit/worker/jobapi"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

// TestDefinitionEnvSatisfiesTheWorker loads the env the stack Definition
// gives the worker container, exactly as a renderer resolves it, with the
// worker's own loader: a renamed or missing variable fails here, without
// Docker, instead of as a crash-looping container.
func TestDefinitionEnvSatisfiesTheWorker(t *testing.T) {
	cases := []struct {
		name string
		cfg  stacks.MapSource
	}{
		{"defaults", stacks.MapSource{}},
		{"search key, existing PostgreSQL, tuning", stacks.MapSource{
			"serpApiKey": "[secret]", "postgresHost": "db.internal", "postgresPort": "6543",
			"postgresPassword": "[secret]", "namespace": "other-ns", "serpApiUrl": "https://serp.internal/api",
			"workerEnv":             `{"BATCH_SIZE": "50", "HTTP_PROXY": "http://proxy.internal:3128"}`,
			"workerFetchAllowCidrs": `["172.28.0.0/16", "fd00:1::/64"]`,
		}},
		{"job file limits", stacks.MapSource{"jobMaxBytes": "2048", "jobMaxRows": "7", "jobMaxColumns": "3", "jobMaxLineBytes": "4096"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := stacks.LoadConfig("dev", tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			def, err := stacks.Build(c)
			if err != nil {
				t.Fatal(err)
			}
			svc, ok := def.Service(stacks.ServiceWorker)
			if !ok {
				t.Fatal("no worker service")
			}
			secrets := map[string]string{}
			for _, s := range def.Secrets {
				secrets[s.Name] = "value-of-" + s.Name
			}
			env, err := stacks.ResolveEnvMap(svc, secrets)
			if err != nil {
				t.Fatal(err)
			}
			// The container's secret files, as the secrets job writes them.
			files := map[string]string{}
			for name, v := range secrets {
				files[stacks.SecretPath(name)] = v + "\n"
			}
			read := func(path string) ([]byte, error) {
				v, ok := files[path]
				if !ok {
					return nil, os.ErrNotExist
				}
				return []byte(v), nil
			}
			got, err := config.LoadWith(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, read)
			if err != nil {
				t.Fatalf("the worker refuses the Definition's env: %v", err)
			}
			want := map[string][2]string{
				"namespace":    {got.TemporalNamespace, c.Namespace},
				"task queue":   {got.TaskQueue, stacks.WorkerTaskQueue},
				"temporal":     {got.TemporalAddress, stacks.ServiceTemporal + ":" + strconv.Itoa(stacks.PortTemporalGRPC)},
				"pg host":      {got.PGHost, c.Postgres.Host},
				"pg port":      {strconv.Itoa(got.PGPort), strconv.Itoa(c.Postgres.Port)},
				"pg user":      {got.PGUser, c.Postgres.User},
				"pg password":  {got.PGPassword, "value-of-" + stacks.SecretPostgresPassword},
				"pg database":  {got.PGDatabase, stacks.WorkerDatabase},
				"serp url":     {got.SerpAPIURL, c.Worker.SerpAPIURL},
				"api address":  {got.APIAddr, ":" + strconv.Itoa(stacks.PortWorkerAPI)},
				"serp key set": {strconv.FormatBool(got.SerpAPIKey != ""), strconv.FormatBool(c.Worker.SerpKeySet)},
			}
			if c.Worker.SerpKeySet {
				want["serp key"] = [2]string{got.SerpAPIKey, "value-of-" + stacks.SecretSerpAPIKey}
			}
			// The limits reach the worker under the names its 413 answers give.
			limits := map[string]string{
				jobapi.LimitSettings[jobapi.LimitBody].ConfigKey:      strconv.FormatInt(got.JobMaxBytes, 10),
				jobapi.LimitSettings[jobcsv.LimitRows].ConfigKey:      strconv.Itoa(got.JobMaxRows),
				jobapi.LimitSettings[jobcsv.LimitColumns].ConfigKey:   strconv.Itoa(got.JobMaxColumns),
				jobapi.LimitSettings[jobcsv.LimitLineBytes].ConfigKey: strconv.Itoa(got.JobMaxLineBytes),
			}
			defaults := map[string]int{"jobMaxBytes": jobcsv.DefaultMaxBytes, "jobMaxRows": jobcsv.DefaultMaxRows, "jobMaxColumns": jobcsv.DefaultMaxColumns, "jobMaxLineBytes": jobcsv.DefaultMaxLineBytes}
			for key, value := range limits {
				set, ok := tc.cfg[key]
				if !ok {
					set = strconv.Itoa(defaults[key])
				}
				want[key] = [2]string{value, set}
			}
			for l, s := range jobapi.LimitSettings {
				if _, ok := env[s.Env]; !ok {
					t.Errorf("limit %s: the Definition does not set %s", l, s.Env)
				}
			}
			if v, ok := c.Worker.Env["BATCH_SIZE"]; ok {
				want["batch size"] = [2]string{strconv.Itoa(got.BatchSize), v}
			}
			var allow []string
			for _, p := range got.FetchAllow {
				allow = append(allow, p.String())
			}
			want["fetch allow-list"] = [2]string{strings.Join(allow, ","), strings.Join(c.Worker.FetchAllowCIDRs, ",")}
			for field, gw := range want {
				if gw[0] != gw[1] {
					t.Errorf("%s = %q, want %q", field, gw[0], gw[1])
				}
			}
		})
	}
}
