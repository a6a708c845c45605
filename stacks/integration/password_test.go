package integration

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// TestPostgresTakesTheStacksPassword: a new postgresql container on a kept
// data volume, started with another password (pulumi destroy then up
// generates one; so does a changed postgresPassword), becomes healthy and
// takes that password, and only that one. Without it the stack is locked
// out of its own database.
func TestPostgresTakesTheStacksPassword(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t)
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServicePostgres))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pg, _ := def.Service(stacks.ServicePostgres)
	user := pg.PlainEnv()["POSTGRES_USER"]
	login := func(password string) error {
		u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
			Host: st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres), Path: "/postgres", RawQuery: "sslmode=disable"}
		c, err := pgx.Connect(ctx, u.String())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}
	old := st.Secret(stacks.SecretPostgresPassword)
	if err := login(old); err != nil {
		t.Fatalf("login with the first password: %v", err)
	}

	const rotated = "rotated-password-0123456789abcdef"
	st.SetSecret(stacks.SecretPostgresPassword, rotated)
	// As a deploy does: PostgreSQL's secrets job writes the new file, then a
	// new postgresql container (it follows the job) starts on the kept volume.
	if _, err := st.RunJob(ctx, stacks.SecretsJob(stacks.ServicePostgres)); err != nil {
		t.Fatalf("secrets job: %v", err)
	}
	// Replace waits for the Definition's health check, which logs in over
	// the network with the new password.
	if err := st.Replace(ctx, stacks.ServicePostgres); err != nil {
		t.Fatalf("postgresql on the kept volume with a new password: %v", err)
	}
	if err := login(rotated); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if err := login(old); err == nil {
		t.Error("the old password still logs in")
	}
	if logs := st.Logs(ctx, stacks.ServicePostgres); strings.Contains(logs, rotated) || strings.Contains(logs, old) {
		t.Error("a password is in the container's log")
	}
}
