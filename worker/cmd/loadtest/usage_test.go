package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

func TestPer1000(t *testing.T) {
	if got := per1000(3*time.Second, 2000); got != 1.5 {
		t.Errorf("per1000(3s, 2000) = %v, want 1.5", got)
	}
	if got := per1000(time.Second, 0); got != 0 {
		t.Errorf("per1000(1s, 0) = %v, want 0", got)
	}
}

func TestFormatCPULine(t *testing.T) {
	got := formatCPULine("in-process", []cpuPart{{"worker", 1800 * time.Millisecond}, {"postgresql", 660 * time.Millisecond}}, 2000)
	want := "cpu per 1000 rows: in-process 1.23 s (worker 0.90, postgresql 0.33)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A CPU profile: main calls work (inlined helper inside) and idle.
func testProfile() *profile.Profile {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	main, work, helper, idle := fn(1, "main.main"), fn(2, "main.work"), fn(3, "main.helper"), fn(4, "runtime.idle")
	locMain := &profile.Location{ID: 1, Line: []profile.Line{{Function: main}}}
	locWork := &profile.Location{ID: 2, Line: []profile.Line{{Function: helper}, {Function: work}}} // helper inlined in work
	locIdle := &profile.Location{ID: 3, Line: []profile.Line{{Function: idle}}}
	locRec := &profile.Location{ID: 4, Line: []profile.Line{{Function: work}}}
	ms := func(n int64) []int64 { return []int64{1, n * int64(time.Millisecond)} }
	return &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{locWork, locMain}, Value: ms(70)},
			{Location: []*profile.Location{locIdle, locMain}, Value: ms(20)},
			{Location: []*profile.Location{locMain}, Value: ms(10)},
			// recursion: work appears twice in one stack, counted once in cum
			{Location: []*profile.Location{locRec, locRec, locMain}, Value: ms(5)},
		},
		Location: []*profile.Location{locMain, locWork, locIdle, locRec},
		Function: []*profile.Function{main, work, helper, idle},
	}
}

func TestTopFunctions(t *testing.T) {
	top, total := topFunctions(testProfile(), 3)
	if total != 105*time.Millisecond {
		t.Errorf("total = %s, want 105ms", total)
	}
	want := []funcTime{
		{"main.helper", 70 * time.Millisecond, 70 * time.Millisecond},
		{"runtime.idle", 20 * time.Millisecond, 20 * time.Millisecond},
		{"main.main", 10 * time.Millisecond, 105 * time.Millisecond},
	}
	if len(top) != len(want) {
		t.Fatalf("got %d functions, want %d: %+v", len(top), len(want), top)
	}
	for i := range want {
		if top[i] != want[i] {
			t.Errorf("top[%d] = %+v, want %+v", i, top[i], want[i])
		}
	}
	all, _ := topFunctions(testProfile(), 10)
	for _, f := range all {
		if f.name == "main.work" && (f.flat != 5*time.Millisecond || f.cum != 75*time.Millisecond) {
			t.Errorf("main.work = %+v, want flat 5ms (own sample) and cum 75ms (inlined helper's and recursion counted once)", f)
		}
	}
	out := formatTop(top, total)
	if !strings.Contains(out, "   70ms  66.7%      70ms  66.7%  main.helper") {
		t.Errorf("formatTop:\n%s", out)
	}
}

func TestTopCumulative(t *testing.T) {
	got := topCumulative(testProfile(), 2)
	want := []funcTime{
		{"main.main", 10 * time.Millisecond, 105 * time.Millisecond},
		{"main.work", 5 * time.Millisecond, 75 * time.Millisecond},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("topCumulative = %+v, want %+v (runtime.idle left out)", got, want)
	}
	for _, f := range topCumulative(testProfile(), 10) {
		if inRuntime(f.name) {
			t.Errorf("%s is in the runtime", f.name)
		}
	}
}

func TestFormatStatements(t *testing.T) {
	long := "SELECT a,\n   b FROM t WHERE " + strings.Repeat("x = 1 AND ", 20) + "y = 2"
	out := formatStatements([]statement{{database: "temporal", calls: 1200, rows: 1200, totalMs: 345.67, meanMs: 0.288, query: long}})
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out)
	}
	row := lines[1]
	for _, want := range []string{"1200", "345.7", "0.288", "temporal", "SELECT a, b FROM t WHERE x = 1 AND"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %s", want, row)
		}
	}
	q := row[strings.Index(row, "SELECT"):]
	if n := len([]rune(q)); n != 100 || !strings.HasSuffix(q, "…") {
		t.Errorf("query cut to %d runes, want 100 ending in …: %q", n, q)
	}
	if got := oneLine("select  1", 100); got != "select 1" {
		t.Errorf("oneLine = %q", got)
	}
}

func TestFormatGrowth(t *testing.T) {
	out := formatGrowth("temporal", 2000, map[string]int64{"temporal": 10 << 20}, map[string]int64{"temporal": 12 << 20, "ampledata": 1 << 20})
	want := "" +
		"  temporal    ampledata                  0.00       1.00      +1.00       +512.0\n" +
		"  temporal    temporal                  10.00      12.00      +2.00      +1024.0\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestFormatHistories(t *testing.T) {
	out := formatHistories([]runHistory{{"r1", 4000, 2 << 20}, {"r2", 1000, 1 << 20}})
	if !strings.Contains(out, "total: 2 runs, 5000 events, 3.00 MiB; per run 2500 events, 1536.0 KiB") {
		t.Errorf("got\n%s", out)
	}
	if !strings.Contains(out, "run   2 r2:    1000 events     1024.0 KiB") {
		t.Errorf("got\n%s", out)
	}
}

func TestServerProfileSeconds(t *testing.T) {
	for _, tc := range []struct {
		flag int
		prev time.Duration
		want int
	}{
		{12, time.Minute, 12},
		{0, 40*time.Second + time.Millisecond, 81},
		{0, time.Second, 5},
		{0, 0, 30},
	} {
		if got := serverProfileSeconds(tc.flag, tc.prev); got != tc.want {
			t.Errorf("serverProfileSeconds(%d, %s) = %d, want %d", tc.flag, tc.prev, got, tc.want)
		}
	}
}
