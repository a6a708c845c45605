package deployring

import (
	"reflect"
	"testing"
)

func TestParseUp(t *testing.T) {
	out := `{"sequence":0,"preludeEvent":{"config":{}}}
{"sequence":1,"resourcePreEvent":{"metadata":{"op":"same","urn":"urn:pulumi:dev::temporal-kit::pulumi:pulumi:Stack::temporal-kit-dev"}}}
{"sequence":2,"resourcePreEvent":{"metadata":{"op":"update","urn":"urn:pulumi:dev::temporal-kit::docker:index/container:Container::temporal-ui","diffReasons":["envs"]}}}

{"sequence":3,"summaryEvent":{"resourceChanges":{"same":1,"update":1}}}
`
	p, err := ParseUp(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Changes(); !reflect.DeepEqual(got, []string{"update temporal-ui"}) {
		t.Errorf("changes %v, want [update temporal-ui]", got)
	}
	if !reflect.DeepEqual(p.ChangeSummary, map[string]int{"same": 1, "update": 1}) || p.Raw != out {
		t.Errorf("summary %v, raw kept %v", p.ChangeSummary, p.Raw == out)
	}
	if _, err := ParseUp(`{"resourcePreEvent":{"metadata":{"op":"create","urn":"a::b"}}}`); err == nil {
		t.Error("an up without a summary event parsed")
	}
	if _, err := ParseUp("pulumi: error"); err == nil {
		t.Error("text that is not JSON parsed")
	}
}
