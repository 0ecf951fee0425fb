package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/epermit/epermit/trust"
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
	if errors.Is(err, trustcache.ErrPinChanged) {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATA\tRESULT\tISSUED\tCONFIRMED\tURL")
	kept, none := 0, 0
	for _, it := range rep.Items {
		// A failed document is kept when a copy was held (it has been
		// fetched or confirmed before); on a first sync there is none.
		result := it.Result
		if it.Err != nil && it.Fetched.IsZero() {
			result, none = "failed, none held", none+1
		} else if it.Err != nil {
			result, kept = "failed, kept the cached copy", kept+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Kind, result, age(now, it.IssuedAt), age(now, it.Fetched), sanitize(it.URL))
	}
	tw.Flush()
	first := rep.Items[0] // the trust list
	if first.Err != nil && first.Fetched.IsZero() && errors.Is(first.Err, trust.ErrRootMismatch) {
		return fmt.Errorf("%w: the trust list at %s is not signed by the root key --pin %s names: check the thumbprint "+
			"permitd printed (\"root key ...\"); nothing was cached", errConfig, first.URL, *pin)
	}
	for _, it := range rep.Items {
		if it.Err != nil {
			printError(e.stderr, fmt.Errorf("%s %s: %w", it.Kind, it.URL, it.Err))
		}
	}
	switch {
	case first.Err != nil && first.Fetched.IsZero():
		fmt.Fprintf(e.stderr, "permit: nothing is cached in %s yet: verify --cache cannot use it until a sync succeeds\n", *dir)
		return errRefused
	case kept > 0 || none > 0:
		if kept > 0 {
			fmt.Fprintf(e.stderr, "permit: kept the cached copy of what could not be refreshed\n")
		}
		if none > 0 {
			fmt.Fprintf(e.stderr, "permit: %d status list(s) could not be fetched and none is held: permits on them cannot be checked for revocation\n", none)
		}
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
