package proxy

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/activity"
	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
)

// activitySettings are the activity log's settings from the config.
func activitySettings(a config.Activity) activity.Settings {
	return activity.Settings{
		File: a.File, MaxBytes: a.MaxBytes, MaxFiles: a.MaxFiles, Recent: a.Recent,
		IncludeArguments: a.IncludeArguments, IncludeResults: a.IncludeResults, MaxCaptureBytes: a.MaxCaptureBytes,
	}
}

// configActivity is the activity block as GET /api/v1/config shows it.
func configActivity(a config.Activity) admin.ConfigActivity {
	return admin.ConfigActivity{
		File: a.File, MaxBytes: a.MaxBytes, MaxFiles: a.MaxFiles, Recent: a.Recent,
		IncludeArguments: a.IncludeArguments, IncludeResults: a.IncludeResults, MaxCaptureBytes: a.MaxCaptureBytes,
	}
}

// setupActivity starts the activity log: the ring of recent records is
// always kept; the file only when the config names one.
func (p *Proxy) setupActivity(cfg *config.Config) hcl.Diagnostics {
	p.metrics.ActivityDropped(0)
	l, err := activity.New(activity.Options{
		Settings: activitySettings(cfg.Activity),
		Dropped:  func() { p.metrics.ActivityDropped(1) },
		Publish: func(r admin.ActivityRecord) {
			if !p.events.subscribed() {
				return // the copy for the event would be garbage per call
			}
			rec := r
			p.events.publish(admin.Event{Time: r.Time, Type: admin.EventActivity, Activity: &rec})
		},
		Logger: p.log.Named("activity"),
	})
	if err != nil {
		subject := cfg.Activity.DeclRange
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot open the activity file", Detail: err.Error(), Subject: subject.Ptr()}}
	}
	p.activity = l
	return nil
}

var _ admin.ActivityLog = control{}

// Activity implements admin.ActivityLog.
func (c control) Activity(q admin.ActivityQuery) admin.ActivityList {
	if c.p.activity == nil {
		return admin.ActivityList{}
	}
	return c.p.activity.Query(q)
}

// reloadActivity applies the activity block of a reloaded config.
func (p *Proxy) reloadActivity(next *config.Config) *admin.ReloadPartial {
	if p.activity == nil {
		return nil
	}
	if err := p.activity.Configure(activitySettings(next.Activity)); err != nil {
		return &admin.ReloadPartial{Kind: admin.PartialActivity, Reason: "the activity settings were not applied; the previous ones stay: " + err.Error()}
	}
	return nil
}
