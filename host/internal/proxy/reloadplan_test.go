package proxy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/router"
)

func TestPlanReload(t *testing.T) {
	t.Parallel()
	running := map[string]string{"a": "fa", "b": "fb", "c": "fc", "gone": "fg"}
	tests := []struct {
		name             string
		next             []plannedServer
		changedPlugins   []string
		oldTrans, newTrs []string
		want             reloadPlan
	}{
		{
			name: "nothing changed",
			next: []plannedServer{{"a", "fa", "stdio"}, {"b", "fb", "stdio"}, {"c", "fc", "http"}, {"gone", "fg", "stdio"}},
			want: reloadPlan{Keep: []string{"a", "b", "c", "gone"}},
		},
		{
			name: "added, changed, removed, kept",
			next: []plannedServer{{"a", "fa", "stdio"}, {"b", "fb2", "stdio"}, {"new", "fn", "stdio"}, {"c", "fc", "http"}},
			want: reloadPlan{Add: []string{"new"}, Restart: []string{"b"}, Keep: []string{"a", "c"}, Remove: []string{"gone"}},
		},
		{
			name:           "a changed transport plugin restarts its servers only",
			next:           []plannedServer{{"a", "fa", "stdio"}, {"b", "fb", "stdio"}, {"c", "fc", "http"}},
			changedPlugins: []string{"http"},
			want:           reloadPlan{Restart: []string{"c"}, Keep: []string{"a", "b"}, Remove: []string{"gone"}},
		},
		{
			name: "settings that cannot be used: a running server is kept as it is, a new one not added",
			next: []plannedServer{{"a", "", "stdio"}, {"b", "fb", "stdio"}, {"new", "", "stdio"}},
			want: reloadPlan{Keep: []string{"b"}, Failed: []string{"a", "new"}, Remove: []string{"c", "gone"}},
		},
		{
			name:     "translators listed differently",
			next:     []plannedServer{{"a", "fa", "stdio"}, {"b", "fb", "stdio"}, {"c", "fc", "http"}, {"gone", "fg", "stdio"}},
			oldTrans: []string{"versions"}, newTrs: []string{"versions", "extra"},
			want: reloadPlan{Keep: []string{"a", "b", "c", "gone"}, Translators: true},
		},
		{
			name:           "a translator's settings changed",
			next:           []plannedServer{{"a", "fa", "stdio"}, {"b", "fb", "stdio"}, {"c", "fc", "http"}, {"gone", "fg", "stdio"}},
			changedPlugins: []string{"versions"},
			oldTrans:       []string{"versions"}, newTrs: []string{"versions"},
			want: reloadPlan{Keep: []string{"a", "b", "c", "gone"}, Translators: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := planReload(running, tt.next, tt.changedPlugins, tt.oldTrans, tt.newTrs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

// fakeBackends is a backendSet whose steps fail for the names (and, for
// AddBackend, the spec versions) it is told.
type fakeBackends struct {
	running   map[string]string // name → the spec it runs (its ProtocolVersion stands for the settings)
	failAdd   map[string]bool   // "name/version"
	failStop  map[string]bool
	callOrder []string
}

func spec(name, version string) router.BackendSpec {
	return router.BackendSpec{Name: name, ProtocolVersion: version}
}

func (f *fakeBackends) AddBackend(s router.BackendSpec) error {
	f.callOrder = append(f.callOrder, "add "+s.Name+"/"+s.ProtocolVersion)
	if f.failAdd[s.Name+"/"+s.ProtocolVersion] {
		return errors.New("cannot start")
	}
	if _, ok := f.running[s.Name]; ok {
		return fmt.Errorf("a server named %q already exists", s.Name)
	}
	f.running[s.Name] = s.ProtocolVersion
	return nil
}

func (f *fakeBackends) RemoveBackend(name string) error {
	f.callOrder = append(f.callOrder, "remove "+name)
	if f.failStop[name] {
		return errors.New("cannot stop")
	}
	if _, ok := f.running[name]; !ok {
		return fmt.Errorf("%w named %q", router.ErrUnknownBackend, name)
	}
	delete(f.running, name)
	return nil
}

func TestApplyPlan(t *testing.T) {
	t.Parallel()
	plan := reloadPlan{Add: []string{"new"}, Restart: []string{"b", "c"}, Keep: []string{"a"}, Remove: []string{"gone"}}
	next := map[string]router.BackendSpec{"new": spec("new", "v2"), "b": spec("b", "v2"), "c": spec("c", "v2"), "a": spec("a", "v1")}
	previous := map[string]router.BackendSpec{"a": spec("a", "v1"), "b": spec("b", "v1"), "c": spec("c", "v1"), "gone": spec("gone", "v1")}
	tests := []struct {
		name              string
		failAdd, failStop []string
		wantRunning       map[string]string
		wantApplied       appliedPlan
		wantPartial       []string // name: the start of the reason
	}{
		{
			name:        "every step taken",
			wantRunning: map[string]string{"a": "v1", "b": "v2", "c": "v2", "new": "v2"},
			wantApplied: appliedPlan{Added: []string{"new"}, Changed: []string{"b", "c"}, Removed: []string{"gone"},
				Runs: map[string]runs{"new": runsNew, "b": runsNew, "c": runsNew, "gone": runsNothing}},
		},
		{
			name:        "a restart whose new settings cannot start runs the previous ones again",
			failAdd:     []string{"b/v2"},
			wantRunning: map[string]string{"a": "v1", "b": "v1", "c": "v2", "new": "v2"},
			wantApplied: appliedPlan{Added: []string{"new"}, Changed: []string{"c"}, Removed: []string{"gone"},
				Runs: map[string]runs{"new": runsNew, "b": runsPrevious, "c": runsNew, "gone": runsNothing}},
			wantPartial: []string{"b: new settings not applied; it runs again with its previous ones"},
		},
		{
			name:        "neither new nor previous settings start",
			failAdd:     []string{"c/v2", "c/v1"},
			wantRunning: map[string]string{"a": "v1", "b": "v2", "new": "v2"},
			wantApplied: appliedPlan{Added: []string{"new"}, Changed: []string{"b"}, Removed: []string{"gone"},
				Runs: map[string]runs{"new": runsNew, "b": runsNew, "c": runsNothing, "gone": runsNothing}},
			wantPartial: []string{"c: stopped: neither its new nor its previous settings"},
		},
		{
			name:        "a server that cannot be stopped keeps running, and the rest goes on",
			failStop:    []string{"gone", "b"},
			failAdd:     []string{"new/v2"},
			wantRunning: map[string]string{"a": "v1", "b": "v1", "c": "v2", "gone": "v1"},
			wantApplied: appliedPlan{Changed: []string{"c"}, Runs: map[string]runs{"c": runsNew}},
			wantPartial: []string{"gone: not stopped; it keeps running", "b: new settings not applied; it keeps running with its previous ones", "new: not added"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeBackends{running: map[string]string{"a": "v1", "b": "v1", "c": "v1", "gone": "v1"},
				failAdd: map[string]bool{}, failStop: map[string]bool{}}
			for _, k := range tt.failAdd {
				f.failAdd[k] = true
			}
			for _, k := range tt.failStop {
				f.failStop[k] = true
			}
			got := applyPlan(f, plan, next, previous)
			if !reflect.DeepEqual(f.running, tt.wantRunning) {
				t.Errorf("running %v, want %v (calls %v)", f.running, tt.wantRunning, f.callOrder)
			}
			partial := got.Partial
			got.Partial = nil
			if !reflect.DeepEqual(got, tt.wantApplied) {
				t.Errorf("applied %+v\nwant    %+v", got, tt.wantApplied)
			}
			if len(partial) != len(tt.wantPartial) {
				t.Fatalf("partial %+v, want %v", partial, tt.wantPartial)
			}
			for i, p := range partial {
				if s := p.Name + ": " + p.Reason; !strings.HasPrefix(s, tt.wantPartial[i]) || p.Kind != "server" {
					t.Errorf("partial[%d] = %q (%s), want it to start %q", i, s, p.Kind, tt.wantPartial[i])
				}
			}
			// Stops come first, so that names are free for the starts.
			if len(f.callOrder) > 0 && !strings.HasPrefix(f.callOrder[0], "remove gone") {
				t.Errorf("first step %q, want the stop of gone", f.callOrder[0])
			}
		})
	}
}
