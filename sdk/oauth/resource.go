package oauth

import (
	"fmt"
	"net/url"
	"strings"
)

// canonicalResource returns the canonical URI of an MCP server (MCP
// authorization, "Canonical Server URI"): lowercase scheme and host, no
// fragment, no default port, no trailing slash.
func canonicalResource(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("server URL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("server URL %q is not absolute", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = joinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// resourceCovers reports whether the protected resource prm names may
// serve the server at canonical: the same URI, or one on the same origin
// whose path is a prefix of the server's (RFC 9728 §3.3; MCP servers often
// name their origin).
func resourceCovers(prm, canonical string) bool {
	p, err := canonicalResource(prm)
	if err != nil {
		return false
	}
	if p == canonical {
		return true
	}
	pu, err1 := url.Parse(p)
	cu, err2 := url.Parse(canonical)
	if err1 != nil || err2 != nil || pu.Scheme != cu.Scheme || pu.Host != cu.Host || pu.RawQuery != "" {
		return false
	}
	return pu.Path == "" || cu.Path == pu.Path || strings.HasPrefix(cu.Path, pu.Path+"/")
}
