package oauth

import (
	"fmt"
	"log/slog"
	"strings"
)

// redacted stands for a secret that is set.
const redacted = "[redacted]"

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// String shows the record without its tokens and client secret, so that
// printing or logging one by accident leaks nothing.
func (r Record) String() string {
	return fmt.Sprintf("oauth.Record{Resource: %q, Issuer: %q, ClientID: %q, ClientSecret: %q, AccessToken: %q, RefreshToken: %q, Expiry: %s, Scopes: %q}",
		r.Resource, r.Issuer, r.ClientID, mask(r.ClientSecret), mask(r.AccessToken), mask(r.RefreshToken), r.Expiry.Format("2006-01-02T15:04:05Z07:00"), strings.Join(r.Scopes, " "))
}

// GoString is String, for %#v.
func (r Record) GoString() string { return r.String() }

// LogValue is what log/slog records of a Record: no secret.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("resource", r.Resource),
		slog.String("issuer", r.Issuer),
		slog.String("client_id", r.ClientID),
		slog.Bool("has_access_token", r.AccessToken != ""),
		slog.Bool("has_refresh_token", r.RefreshToken != ""),
		slog.Time("expiry", r.Expiry),
		slog.String("scopes", strings.Join(r.Scopes, " ")),
	)
}

// String shows the settings without the client secret.
func (s Settings) String() string {
	return fmt.Sprintf("oauth.Settings{OAuth: %q, ClientID: %q, ClientSecret: %q, ClientMetadataURL: %q, Scopes: %q, Grant: %q, TokenAuthMethod: %q, RedirectPort: %d, SignIn: %q}",
		s.OAuth, s.ClientID, mask(s.ClientSecret), s.ClientMetadataURL, s.Scopes, s.Grant, s.TokenAuthMethod, s.RedirectPort, s.SignIn)
}

// GoString is String, for %#v.
func (s Settings) GoString() string { return s.String() }

// LogValue is what log/slog records of Settings: no secret.
func (s Settings) LogValue() slog.Value { return slog.StringValue(s.String()) }
