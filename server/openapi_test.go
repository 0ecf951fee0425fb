package server

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/trust"
)

// openapiFile is the API description the routes are checked against.
var openapiFile = filepath.Join("..", "docs", "openapi.yaml")

// openapiMethods are the operation keys of an OpenAPI path item.
var openapiMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

// openapiOperations reads the "METHOD /path" pairs under the top-level paths
// key of an OpenAPI document in block-style YAML, with path keys indented by
// two spaces and operations by four. It needs no YAML library: this is the
// layout of docs/openapi.yaml, and a document written otherwise fails the
// test instead of passing it.
func openapiOperations(r io.Reader) ([]string, error) {
	var ops []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.Contains(line[:len(line)-len(trimmed)], "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", n)
		}
		indent := len(line) - len(trimmed)
		if indent == 0 {
			if inPaths {
				break
			}
			inPaths = line == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		key, isKey := strings.CutSuffix(trimmed, ":")
		switch {
		case indent == 2:
			if !isKey {
				return nil, fmt.Errorf("line %d: want a path key, got %q", n, trimmed)
			}
			path = strings.Trim(key, `"'`)
			if !strings.HasPrefix(path, "/") {
				return nil, fmt.Errorf("line %d: path %q does not start with /", n, path)
			}
		case indent == 4 && isKey && openapiMethods[key]:
			if path == "" {
				return nil, fmt.Errorf("line %d: operation %q outside a path", n, key)
			}
			ops = append(ops, strings.ToUpper(key)+" "+path)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !inPaths {
		return nil, fmt.Errorf("no top-level paths key")
	}
	return ops, nil
}

// openapiParam matches an echo path parameter.
var openapiParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openapiServer builds a Server with New on a temporary store.
func openapiServer(t *testing.T) *Server {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{11}, 32))
	ring, err := keys.NewRing(keys.Entry{Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, time.Now, &Authority{Slug: "zj", Name: trust.Text{ZH: "浙江省公安厅", EN: "Zhejiang"}, Region: "33", Keys: ring})
	s, err := New(Config{BaseURL: testBase, Service: svc,
		Root: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{12}, 32)), Apps: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openapiRoutes returns the routes of s as "METHOD /path" with OpenAPI
// {param} templates.
func openapiRoutes(s *Server) []string {
	var out []string
	for _, r := range s.e.Routes() {
		p := openapiParam.ReplaceAllString(r.Path, "{$1}")
		out = append(out, r.Method+" "+strings.Replace(p, "/*", "/{path}", 1))
	}
	return out
}

// openapiDiff returns the elements of a not in b.
func openapiDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesRoutes checks that docs/openapi.yaml documents every
// route of the server (HEAD included, as its own operation) and nothing
// else.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	f, err := os.Open(openapiFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented, err := openapiOperations(f)
	if err != nil {
		t.Fatalf("%s: %v", openapiFile, err)
	}
	routes := openapiRoutes(openapiServer(t))
	if len(routes) == 0 {
		t.Fatal("the server has no routes")
	}
	seen := map[string]bool{}
	for _, op := range documented {
		if seen[op] {
			t.Errorf("%s: %s documented twice", openapiFile, op)
		}
		seen[op] = true
	}
	for _, op := range openapiDiff(routes, documented) {
		t.Errorf("route %s is not documented in %s", op, openapiFile)
	}
	for _, op := range openapiDiff(documented, routes) {
		t.Errorf("%s documents %s, which is not a route", openapiFile, op)
	}
}

// TestOpenAPIOperations checks the reader of the paths section on small
// documents, so that a reader that finds nothing cannot pass for a match.
func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		want    []string
		wantErr bool
	}{
		{"paths and methods", "openapi: 3.1.0\npaths:\n  /a/{id}:\n    parameters:\n      - name: id\n    get:\n      summary: x\n    head:\n      summary: y\n  \"/b\":\n    post:\n      responses: {}\ncomponents:\n  schemas:\n    get:\n      type: object\n",
			[]string{"GET /a/{id}", "HEAD /a/{id}", "POST /b"}, false},
		{"nested keys named like methods are ignored", "paths:\n  /a:\n    get:\n      responses:\n        post:\n          x: 1\n", []string{"GET /a"}, false},
		{"comments and blank lines", "# top\npaths:\n\n  # note\n  /a:\n    # get:\n    put:\n      x: 1\n", []string{"PUT /a"}, false},
		{"no paths key", "openapi: 3.1.0\ninfo:\n  title: x\n", nil, true},
		{"path without slash", "paths:\n  a:\n    get:\n      x: 1\n", nil, true},
		{"flow-style path item", "paths:\n  /a: {get: {}}\n", nil, true},
		{"tab indentation", "paths:\n\t/a:\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := openapiOperations(strings.NewReader(tt.doc))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOpenAPIRoutesConversion checks that echo parameters become OpenAPI
// templates.
func TestOpenAPIRoutesConversion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/v1/permits/:no/photo":            "/v1/permits/{no}/photo",
		"/.well-known/jwt-vc-issuer/:slug": "/.well-known/jwt-vc-issuer/{slug}",
		"/trust-list":                      "/trust-list",
	} {
		if got := openapiParam.ReplaceAllString(in, "{$1}"); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}
