package render

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// JobFailedError reports a one-shot job that exited non-zero. The provider
// records the exit code without failing, so the renderer turns it into this.
type JobFailedError struct {
	Job       string
	Container string
	ExitCode  int
	URN       string
}

func (e *JobFailedError) Error() string {
	return fmt.Sprintf("job %s failed: container %s exited with code %d; read its output with `docker logs %s`, "+
		"fix the cause, then run the job again with `pulumi up --replace '%s'`",
		e.Job, e.Container, e.ExitCode, e.Container, e.URN)
}

// checkJob returns a status that resolves once the job exited 0 (and fails
// with a *JobFailedError otherwise), and the same check as a dependency for
// the job's dependents.
func checkJob(job, container string, c *docker.Container) (pulumi.StringOutput, pulumi.ResourceOutput) {
	check := func(code int, urn pulumi.URN) error {
		if code != 0 {
			return &JobFailedError{Job: job, Container: container, ExitCode: code, URN: string(urn)}
		}
		return nil
	}
	status := pulumi.All(c.ExitCode, c.URN()).ApplyT(func(v []any) (string, error) {
		if err := check(v[0].(int), v[1].(pulumi.URN)); err != nil {
			return "", err
		}
		return "completed (exit 0)", nil
	}).(pulumi.StringOutput)
	res := pulumi.All(c.ExitCode, c.URN()).ApplyT(func(v []any) (pulumi.Resource, error) {
		if err := check(v[0].(int), v[1].(pulumi.URN)); err != nil {
			return nil, err
		}
		return c, nil
	}).(pulumi.ResourceOutput)
	return status, res
}
