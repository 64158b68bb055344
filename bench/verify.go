package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"sort"
)

// verify sends n requests with equal variables to the gateway and the direct baseline and
// fails unless both answer the same data and the data passes the scenario's check: the direct
// baseline must do the same work, not less. It returns the last gateway response (at least one
// request is made).
func verify(ctx context.Context, client *http.Client, s *readScenario, gw, direct httpTarget, n int, seed uint64) ([]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 0xfeed))
	prefix := graphQLPrefix(s)
	var buf bytes.Buffer
	var sample []byte
	for i := range max(n, 1) {
		vars := s.vars(rng, nil)
		body := append(append(slices.Clip(prefix), vars...), '}')
		gwData, err := fetchData(ctx, client, gw.url, body, &buf)
		if err != nil {
			return nil, fmt.Errorf("verify %s gateway request %d: %w", s.name, i, err)
		}
		sample = bytes.Clone(buf.Bytes())
		dData, err := fetchData(ctx, client, direct.url, vars, &buf)
		if err != nil {
			return nil, fmt.Errorf("verify %s direct request %d: %w", s.name, i, err)
		}
		if err := s.check(gwData); err != nil {
			return nil, fmt.Errorf("verify %s request %d (%s): gateway answer: %w", s.name, i, vars, err)
		}
		if !reflect.DeepEqual(gwData, dData) {
			return nil, fmt.Errorf("verify %s request %d (%s): gateway and direct answers differ at %s", s.name, i, vars, firstDiff("data", gwData, dData))
		}
	}
	return sample, nil
}

func fetchData(ctx context.Context, client *http.Client, url string, body []byte, buf *bytes.Buffer) (map[string]any, error) {
	if err := post(ctx, client, url, body, buf); err != nil {
		return nil, err
	}
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.Unmarshal(buf.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("response has errors: %v", resp.Errors)
	}
	return resp.Data, nil
}

// firstDiff names the first path at which a and b differ, with both values.
func firstDiff(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !reflect.DeepEqual(x[k], y[k]) {
				return firstDiff(path+"."+k, x[k], y[k])
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if !reflect.DeepEqual(x[i], y[i]) {
				return firstDiff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])
			}
		}
	}
	return fmt.Sprintf("%s: gateway %v, direct %v", path, a, b)
}
