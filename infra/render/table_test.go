package render_test

import (
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks/rendertest"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// The dev stack's containers look as the shared table says (the same table
// stacks/stacktest's request is checked against).
func TestContainersMatchTheSharedTable(t *testing.T) {
	def := stacktest.Definition(t, "dev", rendertest.Config)
	if def.Prefix != rendertest.Prefix {
		t.Fatalf("prefix %q, the table's is %q", def.Prefix, rendertest.Prefix)
	}
	m, err := renderUnderMocks(t, def)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range rendertest.Dev {
		t.Run(name, func(t *testing.T) {
			c, ok := m.Find(infratest.TypeContainer, name)
			if !ok {
				t.Fatal("not registered")
			}
			for _, d := range rendertest.Compare(readBack(c.Inputs), want) {
				t.Error(d)
			}
		})
	}
}

// readBack reads a registered container's inputs in the table's terms.
func readBack(in resource.PropertyMap) rendertest.Container {
	c := rendertest.Container{
		Name:         in["name"].StringValue(),
		Labels:       map[string]string{},
		Wait:         "exited",
		Networks:     map[string][]string{},
		MemoryMB:     int(in["memory"].NumberValue()),
		MemorySwapMB: int(in["memorySwap"].NumberValue()),
		Restart:      in["restart"].StringValue(),
		SecurityOpts: strs(in["securityOpts"]),
	}
	if v, ok := in["user"]; ok {
		c.User = v.StringValue()
	}
	for _, e := range in["labels"].ArrayValue() {
		o := e.ObjectValue()
		c.Labels[o["label"].StringValue()] = o["value"].StringValue()
	}
	if hc, ok := in["healthcheck"]; ok {
		h := hc.ObjectValue()
		c.Health = &rendertest.Health{
			Test:        strs(h["tests"]),
			Interval:    duration(h["interval"]),
			Timeout:     duration(h["timeout"]),
			StartPeriod: duration(h["startPeriod"]),
			Retries:     int(h["retries"].NumberValue()),
		}
	}
	// A service's create waits for its health; a job's container is created, not started.
	if in["wait"].IsBool() && in["wait"].BoolValue() && in["mustRun"].BoolValue() {
		c.Wait = "healthy"
	} else if !in["start"].IsBool() || in["start"].BoolValue() {
		c.Wait = "started, not waited for"
	}
	for _, e := range in["networksAdvanced"].ArrayValue() {
		o := e.ObjectValue()
		c.Networks[o["name"].StringValue()] = strs(o["aliases"])
	}
	if mm, ok := in["mounts"]; ok {
		for _, e := range mm.ArrayValue() {
			o := e.ObjectValue()
			mode := "rw"
			if o["readOnly"].BoolValue() {
				mode = "ro"
			}
			c.Mounts = append(c.Mounts, o["type"].StringValue()+" "+o["source"].StringValue()+" "+o["target"].StringValue()+" "+mode)
		}
	}
	if d, ok := in["logDriver"]; ok {
		o := in["logOpts"].ObjectValue()
		c.Logs = d.StringValue() + " max-size=" + o["max-size"].StringValue() + " max-file=" + o["max-file"].StringValue()
	}
	if v, ok := in["stopSignal"]; ok {
		c.StopSignal = v.StringValue()
	}
	if v, ok := in["stopTimeout"]; ok {
		c.StopTimeout = time.Duration(v.NumberValue()) * time.Second
		if g := in["destroyGraceSeconds"]; !g.IsNumber() || g.NumberValue() != v.NumberValue() {
			c.StopTimeout = -1 // a redeploy would stop the old container with another grace
		}
	}
	if caps, ok := in["capabilities"]; ok {
		o := caps.ObjectValue()
		c.CapDrop, c.CapAdd = strs(o["drops"]), strs(o["adds"])
	}
	return c
}

func duration(v resource.PropertyValue) time.Duration {
	d, err := time.ParseDuration(v.StringValue())
	if err != nil {
		return -1
	}
	return d
}
