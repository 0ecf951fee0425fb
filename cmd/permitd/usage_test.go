package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelpOfEveryCommand: -h after every command and command group the
// usage lists prints the usage (exit 0), and a group without its
// subcommand says so (exit 2).
func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	// "  permitd token create --role ..." gives "token create"; "  permitd [serve] [flags]" gives "serve".
	line := regexp.MustCompile(`(?m)^  permitd (\[?[a-z]+\]?)(?: ([a-z]+))?`)
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(usage, -1) {
		cmd := strings.Trim(m[1], "[]")
		seen[cmd] = true
		if m[2] != "" {
			seen[cmd+" "+m[2]] = true
			groups[cmd] = true
		}
	}
	for _, want := range []string{"serve", "token", "token create", "backup", "audit verify", "keys rotate", "apps export"} {
		if !seen[want] {
			t.Errorf("the usage lists no %q: the pattern above no longer reads it", want)
		}
	}
	for cmd := range seen {
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(cmd), h)
			code, out, errs := runCmd(args...)
			if code != 0 || !strings.HasPrefix(out, "permitd: the e-permit issuer service\n\nUsage:") || errs != "" {
				t.Errorf("permitd %s: exit %d, stdout %.60q, stderr %q", strings.Join(args, " "), code, out, errs)
			}
		}
	}
	for group := range groups {
		code, out, errs := runCmd(group)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "permitd: usage: "+group+" needs a subcommand\n\n"+usage[:20]) {
			t.Errorf("permitd %s: exit %d, stdout %q, stderr %.80q", group, code, out, errs)
		}
	}
}
