package proxy

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/router"
)

// plannedServer is one server of a new configuration as the plan sees it.
type plannedServer struct {
	Name string
	// Fingerprint identifies its settings; "" when they cannot be used
	// (the transport plugin refused them, say).
	Fingerprint string
	Plugin      string // its transport plugin
}

// reloadPlan is what a reload changes, worked out before anything is
// touched (planReload): which servers start, restart with new settings,
// stop, or stay as they are.
type reloadPlan struct {
	Add, Restart, Keep []string // in the new configuration's order
	Remove             []string // sorted
	// Failed are the servers whose new settings cannot be used: one that
	// runs keeps its previous settings, a new one is not added.
	Failed []string
	// Translators: the translator plugins are to be set again.
	Translators bool
}

// planReload compares the running servers (name → fingerprint) with the
// new configuration's. A server restarts when its settings changed or its
// transport plugin is one of changedPlugins (stopped by the reload, so its
// connection would go with it). It has no side effects.
func planReload(running map[string]string, next []plannedServer, changedPlugins, oldTranslators, newTranslators []string) reloadPlan {
	var plan reloadPlan
	seen := make(map[string]bool, len(next))
	for _, s := range next {
		seen[s.Name] = true
		before, runs := running[s.Name]
		switch {
		case s.Fingerprint == "":
			plan.Failed = append(plan.Failed, s.Name)
		case !runs:
			plan.Add = append(plan.Add, s.Name)
		case before != s.Fingerprint || slices.Contains(changedPlugins, s.Plugin):
			plan.Restart = append(plan.Restart, s.Name)
		default:
			plan.Keep = append(plan.Keep, s.Name)
		}
	}
	for name := range running {
		if !seen[name] {
			plan.Remove = append(plan.Remove, name)
		}
	}
	sort.Strings(plan.Remove)
	plan.Translators = !slices.Equal(oldTranslators, newTranslators)
	for _, name := range newTranslators {
		plan.Translators = plan.Translators || slices.Contains(changedPlugins, name)
	}
	return plan
}

// backendSet is what applying a plan changes: the router's backends.
type backendSet interface {
	AddBackend(spec router.BackendSpec) error
	RemoveBackend(name string) error
}

// appliedPlan is what applyPlan did: the servers it started, restarted and
// stopped, and each step it could not take, with what became of the server.
type appliedPlan struct {
	Added, Changed, Removed []string
	Partial                 []admin.ReloadPartial
	// Runs maps every server it touched to what it runs with now.
	Runs map[string]runs
}

// runs is what a server runs with after a reload.
type runs int

const (
	runsNothing  runs = iota // stopped, or not added
	runsNew                  // its new settings
	runsPrevious             // its previous settings, a restart undone
)

// applyPlan takes the plan's steps: stops first (freeing names), then
// restarts, then starts. A step that fails leaves its server as it was
// (a restart that cannot start the new settings starts the previous ones
// again) and is reported; the other steps go on.
func applyPlan(set backendSet, plan reloadPlan, next, previous map[string]router.BackendSpec) appliedPlan {
	out := appliedPlan{Runs: map[string]runs{}}
	fail := func(name, what string, err error) {
		out.Partial = append(out.Partial, admin.ReloadPartial{Kind: admin.PartialServer, Name: name, Reason: what + ": " + err.Error()})
	}
	for _, name := range plan.Remove {
		if err := set.RemoveBackend(name); err != nil && !errors.Is(err, router.ErrUnknownBackend) {
			fail(name, "not stopped; it keeps running", err)
			continue
		}
		out.Removed = append(out.Removed, name)
		out.Runs[name] = runsNothing
	}
	for _, name := range plan.Restart {
		if err := set.RemoveBackend(name); err != nil && !errors.Is(err, router.ErrUnknownBackend) {
			fail(name, "new settings not applied; it keeps running with its previous ones", err)
			continue
		}
		if err := set.AddBackend(next[name]); err != nil {
			old, ok := previous[name]
			if !ok {
				fail(name, "stopped: its new settings could not be started and there were no previous ones", err)
				out.Runs[name] = runsNothing
				continue
			}
			if rerr := set.AddBackend(old); rerr != nil {
				fail(name, "stopped: neither its new nor its previous settings could be started",
					fmt.Errorf("%w; previous: %w", err, rerr))
				out.Runs[name] = runsNothing
				continue
			}
			fail(name, "new settings not applied; it runs again with its previous ones", err)
			out.Runs[name] = runsPrevious
			continue
		}
		out.Changed = append(out.Changed, name)
		out.Runs[name] = runsNew
	}
	for _, name := range plan.Add {
		if err := set.AddBackend(next[name]); err != nil {
			fail(name, "not added", err)
			continue
		}
		out.Added = append(out.Added, name)
		out.Runs[name] = runsNew
	}
	return out
}
