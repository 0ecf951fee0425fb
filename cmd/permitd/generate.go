package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/internal/synthetic"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/boltdb"
)

// syntheticMarker is the file in the data directory that says its store
// holds synthetic permits, and how they were made.
const syntheticMarker = "synthetic.json"

// generated is the content of the marker: what a resumed or extended run
// must make again the same way.
type generated struct {
	Seed       uint64    `json:"seed"`
	Now        time.Time `json:"now"`
	MinAgeDays int       `json:"min_age_days"`
	MaxAgeDays int       `json:"max_age_days"`
	Revoked    float64   `json:"revoked"`
	Suspended  float64   `json:"suspended"`
	Photo      string    `json:"photo,omitempty"`
}

// storeGenerate fills the store of the data directory with synthetic
// permits, for load tests (docs/performance.md). It writes only into a new
// data directory or one it filled before (the marker file says so), and
// resumes where an interrupted run stopped.
func storeGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fset := flags("store generate", &c)
	count := fset.Int("count", 0, "")
	g := generated{Seed: 1, MaxAgeDays: 365, MinAgeDays: 1, Revoked: 0.02, Suspended: 0.005}
	fset.Uint64Var(&g.Seed, "seed", g.Seed, "")
	fset.Float64Var(&g.Revoked, "revoked", g.Revoked, "")
	fset.Float64Var(&g.Suspended, "suspended", g.Suspended, "")
	fset.StringVar(&g.Photo, "photo", "", "")
	ages := fset.String("age-days", "1-365", "")
	batch := fset.Int("batch", 5000, "")
	list := fset.String("list", "", "")
	if err := parse(fset, args); err != nil {
		return err
	}
	if *count < 1 {
		return fmt.Errorf("%w: store generate needs --count N (the number of permits the store should hold)", errUsage)
	}
	if *batch < 1 || *batch > 50000 {
		return fmt.Errorf("%w: --batch %d: want 1 to 50000", errUsage, *batch)
	}
	lo, hi, ok := strings.Cut(*ages, "-")
	var err1, err2 error
	g.MinAgeDays, err1 = strconv.Atoi(lo)
	g.MaxAgeDays, err2 = strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || g.MinAgeDays < 0 || g.MaxAgeDays < g.MinAgeDays || g.MaxAgeDays > 3650 {
		return fmt.Errorf("%w: --age-days %q: want MIN-MAX days before today, such as 1-365", errUsage, *ages)
	}
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })
	marker := filepath.Join(c.data, syntheticMarker)
	if err := resumeGenerated(marker, c.storePath(), &g, set); err != nil {
		return err
	}
	var photo []byte
	photoType := ""
	if g.Photo != "" {
		var err error
		if photo, err = os.ReadFile(g.Photo); err != nil {
			return err
		}
		photoType = http.DetectContentType(photo)
		if photoType != "image/jpeg" && photoType != "image/png" {
			return fmt.Errorf("%w: --photo %s is %s, want a JPEG or PNG", errUsage, g.Photo, photoType)
		}
	}
	gen, err := synthetic.New(synthetic.Config{Seed: g.Seed, Now: g.Now, MinAge: time.Duration(g.MinAgeDays) * 24 * time.Hour,
		MaxAge: time.Duration(g.MaxAgeDays) * 24 * time.Hour, Revoked: g.Revoked, Suspended: g.Suspended, Photo: photo, PhotoType: photoType})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	setGC()
	e, err := c.open(now(), quiet)
	if err != nil {
		return err
	}
	defer e.close()
	by := cliOfficial("store generate")
	job := "synthetic-" + strconv.FormatUint(g.Seed, 10)
	j, err := e.svc.JobProgress(ctx, job)
	if err != nil {
		return err
	}
	nos := gen.Skip(min(j.Done, *count))
	if j.Done > 0 {
		fmt.Fprintf(stderr, "the store holds %d synthetic permits; going on to %d\n", j.Done, *count)
	}
	// The population is drawn in one goroutine while the batches before are
	// written in another.
	batches := make(chan []issuer.SeedPermit, 2)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(batches)
		for first := j.Done; first < *count; first += *batch {
			b := make([]issuer.SeedPermit, min(*batch, *count-first))
			for i := range b {
				b[i] = gen.Next()
			}
			select {
			case batches <- b:
			case <-pctx.Done():
				return
			}
		}
	}()
	t0 := time.Now()
	p := newProgress(stderr, *count, j.Done)
	start, first := j.Done, j.Done
	for b := range batches {
		if ctx.Err() != nil {
			break
		}
		seeded, jj, err := e.svc.Seed(context.WithoutCancel(ctx), by, job, first, b, now())
		if err != nil {
			p.finish()
			return fmt.Errorf("stopped at permit %d (run the same command again to resume): %w", first+1, err)
		}
		for _, s := range seeded {
			nos = append(nos, s.PermitNo)
		}
		first, j = jj.Done, jj
		p.update(first, "permits")
	}
	p.finish()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d permits; run the same command again to resume", first)
	}
	el := time.Since(t0)
	fmt.Fprintf(stdout, "%d synthetic permits in %s (%d made now, in %s: %.0f/s)\n", first, c.storePath(), first-start,
		el.Round(time.Second), float64(first-start)/el.Seconds())
	if fi, err := os.Stat(c.storePath()); err == nil {
		fmt.Fprintf(stdout, "store file %d bytes, %.0f bytes a permit\n", fi.Size(), float64(fi.Size())/float64(first))
	}
	if *list != "" {
		data := []byte("permit_no\n" + strings.Join(nos, "\n") + "\n")
		if err := atomicfile.Write(*list, data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "their numbers in %s (for permitd endorse --from %s)\n", *list, *list)
	}
	return nil
}

// resumeGenerated reads the marker of an earlier run into g, refusing flags
// that would make other people than it did, or writes the marker of a new
// run. A store without the marker is not one this command made: refused.
func resumeGenerated(marker, store string, g *generated, set map[string]bool) error {
	data, err := os.ReadFile(marker)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(store); err == nil {
			return fmt.Errorf("%s holds records not made by store generate: use a new --data directory", store)
		}
		g.Now = now().UTC().Truncate(time.Second)
		data, _ = json.MarshalIndent(g, "", "  ")
		if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
			return err
		}
		return atomicfile.Write(marker, data, 0o600)
	}
	if err != nil {
		return err
	}
	var old generated
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("%s: %w", marker, err)
	}
	for flag, same := range map[string]bool{"seed": old.Seed == g.Seed, "revoked": old.Revoked == g.Revoked,
		"suspended": old.Suspended == g.Suspended, "photo": old.Photo == g.Photo,
		"age-days": old.MinAgeDays == g.MinAgeDays && old.MaxAgeDays == g.MaxAgeDays} {
		if set[flag] && !same {
			return fmt.Errorf("%w: this store was generated with other values (%s); leave --%s out to go on, or use a new --data directory", errUsage, marker, flag)
		}
	}
	*g = old
	return nil
}

// storeStats prints the room each bucket of the store file takes, in all
// and per permit.
func storeStats(args []string, stdout io.Writer) error {
	var c common
	fset := flags("store stats", &c)
	if err := parse(fset, args); err != nil {
		return err
	}
	st, err := c.openStorage()
	if err != nil {
		return err
	}
	defer st.Close()
	bs, ok := st.(*boltdb.Store)
	if !ok {
		return fmt.Errorf("%w: store stats reads the bbolt file only", errUsage)
	}
	buckets, file, err := bs.Stats()
	if err != nil {
		return err
	}
	permits := 0
	for _, b := range buckets {
		if b.Bucket == issuer.BucketPermits {
			permits = b.Keys
		}
	}
	per := func(n int64) string {
		if permits == 0 {
			return "-"
		}
		return strconv.FormatInt(n/int64(permits), 10)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "BUCKET\tRECORDS\tBYTES\tPER PERMIT\tFILL\t")
	var sum int64
	for _, b := range buckets {
		if b.Alloc == 0 {
			continue
		}
		sum += b.Alloc
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f%%\t\n", b.Bucket, b.Keys, b.Alloc, per(b.Alloc), 100*float64(b.InUse)/float64(b.Alloc))
	}
	fmt.Fprintf(tw, "free pages\t%d\t%d\t%s\t\t\n", file.FreePages, file.Free, per(file.Free))
	fmt.Fprintf(tw, "file\t%d permits\t%d\t%s\t\t\n", permits, file.Size, per(file.Size))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the freelist, written at each commit: %d bytes; page size %d\n", file.FreelistBytes, file.PageSize)
	return nil
}
