// Package oauthrs makes an mcphost listener an OAuth 2.1 resource server,
// as the MCP authorization specification (2025-06-18 and later) asks: it
// describes the resource in its protected resource metadata (RFC 9728),
// validates access tokens (JWTs against the issuer's JWKS, or opaque
// tokens by introspection, RFC 7662) for this resource's audience, and
// writes the WWW-Authenticate challenges that send a client to its
// authorization server or ask it for more scope.
//
// A token's text never appears in an error, a log line or a cache key:
// errors name what was wrong, and caches are keyed by the token's hash.
package oauthrs
