package registry

import (
	"errors"
	"strconv"
	"strings"

	goccyparser "github.com/goccy/go-yaml/parser"
	goccytoken "github.com/goccy/go-yaml/token"
	"gopkg.in/yaml.v3"
)

// syntaxError turns the error of yaml.v3 (which reads the registry) into a position and the
// parser's message. yaml.v3 gives only a line, and for some errors the line where the enclosing
// block starts; goccy/go-yaml's parser names the token at fault with its line and column, so
// its position and message win when it finds the error too.
func syntaxError(file string, src []byte, err error) (Pos, string) {
	pos := Pos{File: file, Line: 1}
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok {
		msg = strings.Join(te.Errors, "; ")
	}
	// yaml.v3 syntax errors read "yaml: line N: ...".
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				pos.Line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	if _, perr := goccyparser.ParseBytes(src, 0); perr != nil {
		var pe interface {
			GetToken() *goccytoken.Token
			GetMessage() string
		}
		if errors.As(perr, &pe) && pe.GetToken() != nil && pe.GetToken().Position != nil {
			tp := pe.GetToken().Position
			pos.Line, pos.Column, msg = tp.Line, tp.Column, pe.GetMessage()
		}
	}
	return pos, strings.ReplaceAll(msg, "\t", `\t`) // a tab character in a message reads as spaces
}

// syntaxFix is the fix a YAML syntax error suggests: what the usual mistake behind that message
// is, judged by the message and the line at fault.
func syntaxFix(src []byte, pos Pos, msg string) string {
	line := ""
	if lines := strings.Split(string(src), "\n"); pos.Line >= 1 && pos.Line <= len(lines) {
		line = lines[pos.Line-1]
	}
	indent := len(line) - len(strings.TrimLeft(line, " "))
	switch {
	case strings.HasPrefix(strings.TrimLeft(line, " "), "\t") || strings.Contains(msg, `'\t'`):
		return "indent with spaces: YAML does not allow tabs"
	case strings.Contains(msg, "']'") || strings.Contains(msg, "sequence end"):
		return "close the list with ']' on the same entry, or write it as a block list (- item)"
	case strings.Contains(msg, "'}'") || strings.Contains(msg, "mapping end"):
		return "close the mapping with '}' on the same entry, or write it as a block mapping"
	case strings.Contains(msg, "mapping value is not allowed"):
		return `quote a value that holds ": " (description: "a: b"), or indent the key under the one it belongs to`
	case strings.Contains(msg, "not allowed in this context") || strings.Contains(msg, "did not find expected key"):
		return "indent the key by " + strconv.Itoa(siblingIndent(src, pos.Line, indent)) + " spaces, as the keys above it"
	case strings.Contains(msg, "quote") || strings.Contains(msg, "quoted"):
		return "close the quoted string on the same line"
	}
	return "check the indentation and quoting at that line and column"
}

// siblingIndent is the indentation of the nearest non-blank line above line whose indentation
// differs from indent: the level the misplaced key most likely belongs to.
func siblingIndent(src []byte, line, indent int) int {
	lines := strings.Split(string(src), "\n")
	for i := line - 2; i >= 0 && i < len(lines); i-- {
		l := lines[i]
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if n := len(l) - len(trimmed); n != indent {
			return n
		}
	}
	return 0
}
