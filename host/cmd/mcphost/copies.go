package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/host/internal/proxy"
)

// clientsPollInterval is how often a copy refreshes the number of clients in
// its registry entry (the file is rewritten only when it changed).
const clientsPollInterval = time.Second

// registryOf is the copies registry of the config file at path.
func registryOf(path string) (*copies.Registry, error) {
	dir, err := copies.Dir(path)
	if err != nil {
		return nil, err
	}
	return copies.New(dir), nil
}

// portTaken says why addr could not be bound, naming the holder: a copy of
// mcphost from the registry (pid, mode, config), or else, when it can be
// found, any other process listening there.
func portTaken(ctx context.Context, reg *copies.Registry, addr string) string {
	if reg != nil {
		if e, ok, err := reg.HolderOf(ctx, addr); err == nil && ok {
			return fmt.Sprintf("%s is taken by mcphost pid %d (%s mode, config %s, started %s)",
				addr, e.PID, e.Mode, e.Config, e.Started.Local().Format(time.DateTime))
		}
	}
	if pid, cmdline, ok := copies.PortOwner(addr); ok {
		return fmt.Sprintf("%s is taken by another process: pid %d (%s)", addr, pid, cmdline)
	}
	return addr + " is taken by another process"
}

// bindError turns a bind failure of addr into an error naming the holder
// of the address when it is in use; other errors come back as they are.
func bindError(ctx context.Context, reg *copies.Registry, err error) error {
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, syscall.EADDRINUSE) || opErr.Addr == nil {
		return err
	}
	return fmt.Errorf("%s: %w", portTaken(ctx, reg, opErr.Addr.String()), err)
}

// adminEndpoints is the admin API of one copy: on the configured TCP
// address when serve is set (the HTTP copy, or a stdio copy run with
// --serve) and it can be bound, and on the copy's own Unix socket always.
// Nil when the admin API is off. A configured address that cannot be bound
// fails an HTTP copy, naming its holder; every other failure only costs a
// warning.
func adminEndpoints(ctx context.Context, cfg *config.Config, p *proxy.Proxy, reg *copies.Registry, serve, strict bool, log hclog.Logger) (*admin.Server, error) {
	if cfg.Admin.Address == "" {
		return nil, nil
	}
	s, err := admin.New(admin.Options{Addr: cfg.Admin.Address, Token: cfg.Admin.AuthToken, Control: p.Control(), Metrics: p.Metrics(), Logger: log.Named("admin")})
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	if serve {
		if err := s.Start(); err != nil {
			err = bindError(ctx, reg, err)
			if strict && cfg.Admin.Explicit {
				closeAdmin(s, cfg)
				return nil, fmt.Errorf("admin API: %w", err)
			}
			log.Warn("admin API not served on its TCP address; it is on this copy's socket", "address", cfg.Admin.Address, "error", err)
		} else if f := s.TokenFile(); f != "" {
			log.Info("serving the admin API", "url", "http://"+s.Addr()+"/api/v1", "token_file", f)
		} else {
			log.Info("serving the admin API", "url", "http://"+s.Addr()+"/api/v1")
		}
	}
	if err := s.StartSocket(admin.DefaultSocketPath(os.Getpid(), nil)); err != nil {
		log.Warn("admin API socket not served", "error", err)
	}
	if s.Addr() == "" && s.SocketPath() == "" {
		closeAdmin(s, cfg)
		return nil, nil
	}
	return s, nil
}

func closeAdmin(s *admin.Server, cfg *config.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Proxy.ShutdownTimeout)
	defer cancel()
	_ = s.Close(ctx)
}

// register writes this copy's registry entry and keeps its number of
// clients current until the returned stop is called, which removes the
// entry. A registry that cannot be written costs a warning: the copy
// serves all the same, it is only not listed.
func register(cfg *config.Config, p *proxy.Proxy, reg *copies.Registry, mode string, adm *admin.Server, log hclog.Logger) (stop func()) {
	abs, err := filepath.Abs(cfg.Filename)
	if err != nil {
		abs = cfg.Filename
	}
	e := copies.Entry{Mode: mode, Config: abs, Version: proxy.Version, Listeners: p.HTTPURLs(), Clients: p.Clients()}
	if adm != nil {
		if a := adm.Addr(); a != "" {
			e.AdminURL = "http://" + a
		}
		e.AdminSocket = adm.SocketPath()
	}
	g, err := reg.Register(e)
	if err != nil {
		log.Warn("this copy is not in the copies registry", "dir", reg.Dir(), "error", err)
		return func() {}
	}
	log.Debug("registered in the copies registry", "file", filepath.Join(reg.Dir(), fmt.Sprintf("%d.json", os.Getpid())))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(clientsPollInterval)
		defer t.Stop()
		last := e.Clients
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n := p.Clients(); n != last {
				if err := g.Update(func(e *copies.Entry) { e.Clients = n }); err != nil {
					log.Debug("copies registry: update", "error", err)
					continue
				}
				last = n
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		if err := g.Remove(); err != nil {
			log.Warn("copies registry", "error", err)
		}
	}
}
