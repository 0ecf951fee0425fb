package main

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/verifier"
)

// verifierSync refreshes a verifier's trust cache from an issuer service.
func verifierSync(e *env, args []string) error {
	fs := newFlags(e, "verifier sync")
	from := fs.String("from", "", "the issuer service's URL (default: the one of the last sync)")
	dir := fs.String("dir", "", "the cache directory")
	pin := fs.String("pin", "", "RFC 7638 thumbprint of the root key (first sync; printed by permitd)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "dir"); err != nil {
		return err
	}
	c, err := trustcache.Open(*dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	now := e.now()
	rep, err := c.Sync(ctx, &http.Client{Timeout: 30 * time.Second}, *from, *pin, now)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATA\tRESULT\tISSUED\tCONFIRMED\tURL")
	for _, it := range rep.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Kind, it.Result, age(now, it.IssuedAt), age(now, it.Fetched), it.URL)
	}
	tw.Flush()
	if err := rep.Err(); err != nil {
		fmt.Fprintf(e.stderr, "permit: kept the cached copy of what could not be refreshed:\n%v\n", err)
		return errRefused
	}
	return nil
}

// age says how long ago t was, or "never".
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < -time.Minute:
		return (-d).Round(time.Second).String() + " ahead (clock behind?)"
	case d < time.Minute:
		return "just now"
	case d < 48*time.Hour:
		return d.Round(time.Minute).String() + " ago"
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// loadCache loads a synced trust cache for verification.
func loadCache(dir string) (*verifier.Trust, error) {
	c, err := trustcache.Open(dir)
	if err != nil {
		return nil, err
	}
	return c.Trust()
}
