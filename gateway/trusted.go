package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// TrustedDocuments is an allowlist of operations (persisted operations, as Apollo's safelist and
// Cosmo's block_non_persisted_operations): query texts by the hex SHA-256 of their text. A
// client may send only the hash, as an APQ request ({"extensions": {"persistedQuery":
// {"version": 1, "sha256Hash": …}}}); in enforce mode any other operation is refused
// (DOCUMENT_NOT_TRUSTED), in log-unknown mode it is served and logged.
type TrustedDocuments struct {
	byHash map[string]string
	byText map[string]struct{}
}

// LoadTrustedDocuments reads an allowlist: a directory of *.graphql files (one operation
// document each, trusted as written), or a JSON file, either an object of hash → query or an
// Apollo persisted-query manifest ({"operations": [{"id": hash, "body": query}, …]}). A hash that
// is not the SHA-256 of its query is an error.
func LoadTrustedDocuments(name string) (*TrustedDocuments, error) {
	t := &TrustedDocuments{byHash: map[string]string{}, byText: map[string]struct{}{}}
	st, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("trusted documents: %w", err)
	}
	if st.IsDir() {
		files, err := filepath.Glob(filepath.Join(name, "*.graphql"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("trusted documents: %w", err)
			}
			t.add(string(b))
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("trusted documents: no *.graphql files in %s", name)
		}
		return t, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("trusted documents: %w", err)
	}
	var manifest struct {
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	var byHash map[string]string
	if err := json.Unmarshal(b, &manifest); err == nil && manifest.Operations != nil {
		byHash = map[string]string{}
		for _, op := range manifest.Operations {
			byHash[op.ID] = op.Body
		}
	} else if err := json.Unmarshal(b, &byHash); err != nil {
		return nil, fmt.Errorf("trusted documents %s: not a JSON object of hash → query nor an Apollo manifest: %w", name, err)
	}
	var bad []string
	for h, q := range byHash {
		if documentHash(q) != strings.ToLower(h) {
			bad = append(bad, h)
			continue
		}
		t.add(q)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("trusted documents %s: %d hashes are not the SHA-256 of their query (first: %s)", name, len(bad), bad[0])
	}
	if len(t.byHash) == 0 {
		return nil, fmt.Errorf("trusted documents %s: no operations", name)
	}
	return t, nil
}

// NewTrustedDocuments returns the allowlist of the queries given.
func NewTrustedDocuments(queries ...string) *TrustedDocuments {
	t := &TrustedDocuments{byHash: map[string]string{}, byText: map[string]struct{}{}}
	for _, q := range queries {
		t.add(q)
	}
	return t
}

func (t *TrustedDocuments) add(q string) {
	t.byHash[documentHash(q)] = q
	t.byText[q] = struct{}{}
}

// Len is the number of trusted documents.
func (t *TrustedDocuments) Len() int { return len(t.byHash) }

// Trusted reports whether the query text is one of the documents.
func (t *TrustedDocuments) Trusted(q string) bool {
	_, ok := t.byText[q]
	return ok
}

// trustedAPQ is the APQ cache with the trusted documents in front: a hash-only request for a
// trusted document needs no registration.
type trustedAPQ struct {
	t    *TrustedDocuments
	next graphql.Cache[string]
}

func (c trustedAPQ) Get(ctx context.Context, key string) (string, bool) {
	if q, ok := c.t.byHash[key]; ok {
		return q, true
	}
	return c.next.Get(ctx, key)
}

func (c trustedAPQ) Add(ctx context.Context, key string, value string) { c.next.Add(ctx, key, value) }
