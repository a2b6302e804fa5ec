package metrics

import "testing"

func TestInjectLabel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no labels", "foo 1\n", `foo{plugin="p"} 1` + "\n"},
		{"labels", `foo{a="b",c="d"} 2` + "\n", `foo{plugin="p",a="b",c="d"} 2` + "\n"},
		{"empty labels", "foo{} 3\n", `foo{plugin="p"} 3` + "\n"},
		{"timestamp", "foo 3 1700000000000\n", `foo{plugin="p"} 3 1700000000000` + "\n"},
		{"quoted braces and commas", `foo{a="x,}\"y"} 4`, `foo{plugin="p",a="x,}\"y"} 4`},
		{"clashing label", `foo{plugin="mine",a="b"} 5`, `foo{plugin="p",exported_plugin="mine",a="b"} 5`},
		{"comments unchanged", "# HELP foo Foo things.\n# TYPE foo counter\nfoo 1\n",
			"# HELP foo Foo things.\n# TYPE foo counter\n" + `foo{plugin="p"} 1` + "\n"},
		{"blank lines and CRLF", "foo 1\r\n\nbar{x=\"y\"} 2", "foo{plugin=\"p\"} 1\n\nbar{plugin=\"p\",x=\"y\"} 2"},
		{"histogram", `h_bucket{le="+Inf"} 3` + "\nh_sum 1.5\nh_count 3\n",
			`h_bucket{plugin="p",le="+Inf"} 3` + "\n" + `h_sum{plugin="p"} 1.5` + "\n" + `h_count{plugin="p"} 3` + "\n"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := InjectLabel(tc.in, "plugin", "p"); got != tc.want {
				t.Errorf("InjectLabel(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInjectLabelEscapesValue(t *testing.T) {
	got := InjectLabel("foo 1", "plugin", "a\"b\\c\nd")
	if want := `foo{plugin="a\"b\\c\nd"} 1`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	m := parseText(t, got)
	if _, ok := m[`foo{plugin="a\"b\\c\nd"}`]; !ok {
		t.Errorf("parsed %v", m)
	}
}

func TestMergeFamilies(t *testing.T) {
	a := InjectLabel("# HELP foo Foo.\n# TYPE foo counter\nfoo 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\nbar 7\n", "plugin", "a")
	b := InjectLabel("# HELP foo Foo (b).\n# TYPE foo counter\nfoo 3\n# some other comment\nbaz 4\n", "plugin", "b")
	got := MergeFamilies(a, b)
	want := "# HELP foo Foo.\n# TYPE foo counter\n" +
		`foo{plugin="a"} 1` + "\n" + `foo{plugin="b"} 3` + "\n" +
		"# TYPE h histogram\n" +
		`h_bucket{plugin="a",le="+Inf"} 2` + "\n" + `h_sum{plugin="a"} 1` + "\n" + `h_count{plugin="a"} 2` + "\n" +
		`bar{plugin="a"} 7` + "\n" +
		`baz{plugin="b"} 4` + "\n"
	if got != want {
		t.Errorf("MergeFamilies:\n got %q\nwant %q", got, want)
	}
	parseText(t, got)
}
