package registry

import (
	"regexp"
	"strings"
)

var snakeName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Camel converts snake_case to camelCase: "recent_clicked_articles" → "recentClickedArticles".
func Camel(s string) string {
	p := Pascal(s)
	if p == "" {
		return p
	}
	return strings.ToLower(p[:1]) + p[1:]
}

// Pascal converts snake_case to PascalCase: "region_id" → "RegionId".
func Pascal(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "_") {
		if w == "" {
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]))
		b.WriteString(w[1:])
	}
	return b.String()
}

// GoName converts snake_case to an exported Go identifier with Go's initialisms: "region_id" →
// "RegionID".
func GoName(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "_") {
		if w == "" {
			continue
		}
		if up := strings.ToUpper(w); initialisms[up] {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]))
		b.WriteString(w[1:])
	}
	return b.String()
}

var initialisms = map[string]bool{"ID": true, "URL": true, "API": true, "HTTP": true, "IP": true, "OS": true, "JSON": true, "UUID": true}

// GraphQL names of the registry's parts.

// TypeName is the GraphQL object type of an entity: "User".
func (e *Entity) TypeName() string { return Pascal(e.Name) }

// QueryField is the Query field that returns one entity: "user".
func (e *Entity) QueryField() string { return Camel(e.Name) }

// BatchQueryField is the Query field that returns many entities: "users".
func (e *Entity) BatchQueryField() string { return Camel(e.Plural) }

// GraphQLName is the field of the feature on its entity type: "recentClickedArticles".
func (f *Feature) GraphQLName() string { return Camel(f.Name) }

// EventTypeName is the GraphQL type of an action feature's events: "UserRecentClickedArticlesEvent".
func (f *Feature) EventTypeName() string { return f.Entity.TypeName() + Pascal(f.Name) + "Event" }

// GraphQLName is the field of the event field on the event type: "articleId".
func (f *Field) GraphQLName() string { return Camel(f.Name) }

// JoinName is the registry name of the field that expands a join: the field name without its
// "_id" suffix ("article_id" → "article"), or the joined entity's name when there is none.
func (f *Field) JoinName() string {
	if f.Join == "" {
		return ""
	}
	if n, ok := strings.CutSuffix(f.Name, "_id"); ok && n != "" {
		return n
	}
	return f.Join
}
