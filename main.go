// Command temporal-kit is the Pulumi program of the kit (see Pulumi.yaml):
// `pulumi up` validates the stack config and deploys the stack on the host
// its temporal-kit:target names.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra"
)

func main() {
	pulumi.Run(infra.Program)
}
