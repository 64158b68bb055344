package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// sevenDays is the lastNSec of S1 and S3.
const sevenDays = 7 * 24 * 3600

// readScenario is one GraphQL query shape with its hand-written twin in direct.go.
type readScenario struct {
	name  string
	about string
	query string
	// vars appends one request's variables object (also the direct baseline's request body).
	vars func(rng *rand.Rand, b []byte) []byte
	// check sanity-checks the data of one decoded response.
	check func(data map[string]any) error
}

// readScenarios returns S1, S2, S3, S5 and S6 for the sizes in o.
func readScenarios(o *options) map[string]*readScenario {
	users, articles := o.data.Users, o.data.Articles
	userVars := func(count int) func(*rand.Rand, []byte) []byte {
		return func(rng *rand.Rand, b []byte) []byte {
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, int64(1+rng.IntN(users)), 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(count), 10)
			b = append(b, `,"lastNSec":`...)
			b = strconv.AppendInt(b, sevenDays, 10)
			return append(b, '}')
		}
	}
	m := map[string]*readScenario{
		"S1": {
			name:  "S1",
			about: fmt.Sprintf("user vector: 5 static + 3 action features (count %d, lastNSec 7d)", o.s1Count),
			query: `query S1($id: Int!, $count: Int!, $lastNSec: Int!) {
  user(id: $id) {
    id os regionId mannerTemperature isVerified lastActiveAt
    recentClickedArticles(count: $count, lastNSec: $lastNSec) { timestamp articleId source }
    recentSearches(count: $count, lastNSec: $lastNSec) { timestamp query resultCount }
    recentPurchases(count: $count, lastNSec: $lastNSec) { timestamp articleId price }
  }
}`,
			vars: userVars(o.s1Count),
			check: func(data map[string]any) error {
				u, _ := data["user"].(map[string]any)
				if u == nil || u["os"] == nil || u["lastActiveAt"] == nil {
					return fmt.Errorf("user or its static features missing: %v", data)
				}
				for _, f := range []string{"recentClickedArticles", "recentSearches", "recentPurchases"} {
					if l, _ := u[f].([]any); len(l) == 0 || len(l) > o.s1Count {
						return fmt.Errorf("%s has %d events, want 1..%d", f, len(l), o.s1Count)
					}
				}
				return nil
			},
		},
		"S2": {
			name:  "S2",
			about: fmt.Sprintf("candidate scoring: articles(ids:) with %d ids x 4 static features", o.s2IDs),
			query: `query S2($ids: [Int!]!) {
  articles(ids: $ids) { id category price regionId title }
}`,
			vars: func(rng *rand.Rand, b []byte) []byte {
				b = append(b, `{"ids":[`...)
				for i := range o.s2IDs {
					if i > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendInt(b, int64(1+rng.IntN(articles)), 10)
				}
				return append(b, "]}"...)
			},
			check: func(data map[string]any) error {
				l, _ := data["articles"].([]any)
				if len(l) != o.s2IDs {
					return fmt.Errorf("%d articles, want %d", len(l), o.s2IDs)
				}
				for _, a := range l {
					if m, _ := a.(map[string]any); m == nil || m["category"] == nil || m["title"] == nil {
						return fmt.Errorf("article without features: %v", a)
					}
				}
				return nil
			},
		},
		"S3": {
			name:  "S3",
			about: fmt.Sprintf("join: a user's clicked articles (count %d) with 3 static article features each", o.s3Count),
			query: `query S3($id: Int!, $count: Int!, $lastNSec: Int!) {
  user(id: $id) {
    id
    recentClickedArticles(count: $count, lastNSec: $lastNSec) {
      timestamp articleId
      article { id category price regionId }
    }
  }
}`,
			vars: userVars(o.s3Count),
			check: func(data map[string]any) error {
				u, _ := data["user"].(map[string]any)
				l, _ := u["recentClickedArticles"].([]any)
				if len(l) == 0 || len(l) > o.s3Count {
					return fmt.Errorf("%d clicked articles, want 1..%d", len(l), o.s3Count)
				}
				for _, c := range l {
					m, _ := c.(map[string]any)
					if a, _ := m["article"].(map[string]any); a == nil || a["category"] == nil {
						return fmt.Errorf("click without a joined article: %v", c)
					}
				}
				return nil
			},
		},
	}
	moreReadScenarios(o, m)
	return m
}

// graphQLPrefix is the start of the gateway's request body, up to the variables.
func graphQLPrefix(s *readScenario) []byte {
	q, _ := json.Marshal(s.query)
	return append(append([]byte(`{"query":`), q...), `,"variables":`...)
}

// graphQLBody returns a body builder for the gateway: {"query": ..., "variables": vars}.
func graphQLBody(s *readScenario) func(*rand.Rand, []byte) []byte {
	prefix := graphQLPrefix(s)
	return func(rng *rand.Rand, b []byte) []byte {
		b = append(b, prefix...)
		b = s.vars(rng, b)
		return append(b, '}')
	}
}
