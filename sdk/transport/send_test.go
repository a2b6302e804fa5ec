package transport

import (
	"strings"
	"testing"
)

func TestPrepareSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, msg, want, wantErr string
		limit                    int
	}{
		{name: "compact already", msg: `{"a":1}`, limit: 7, want: `{"a":1}`},
		{name: "newlines removed", msg: "{\n \"a\": 1\n}", limit: 100, want: `{"a":1}`},
		{name: "over the limit", msg: `{"a":1}`, limit: 6, wantErr: "send: message of 7 bytes exceeds the 6 byte limit"},
		{name: "not JSON across lines", msg: "{\"a\":\n", limit: 100, wantErr: "send: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PrepareSend([]byte(tt.msg), tt.limit)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("PrepareSend = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("PrepareSend error = %v, want it to start %q", err, tt.wantErr)
			case tt.wantErr == "" && string(got) != tt.want:
				t.Errorf("PrepareSend = %s, want %s", got, tt.want)
			}
		})
	}
}
