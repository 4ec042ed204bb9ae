package workloads

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// yamlIndex maps field paths (`users[1].weight`) to their place in the source, and places back
// to paths, so that every validation error can name its line and field.
type yamlIndex struct {
	lines map[string]int    // path -> line of its key (or of the item for a list element)
	paths map[[2]int]string // line, column of a key or value token -> path
}

// indexYAML parses src for positions only; a source that does not parse gives an empty index
// (the decoder then reports the syntax error with its own position).
func indexYAML(src []byte) *yamlIndex {
	idx := &yamlIndex{lines: map[string]int{}, paths: map[[2]int]string{}}
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return idx
	}
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			idx.walk(doc.Body, "")
		}
		break
	}
	return idx
}

func (x *yamlIndex) note(path string, tk *token.Token) {
	if tk == nil || tk.Position == nil {
		return
	}
	if _, ok := x.lines[path]; !ok {
		x.lines[path] = tk.Position.Line
	}
	x.paths[[2]int{tk.Position.Line, tk.Position.Column}] = path
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (x *yamlIndex) walk(n ast.Node, path string) {
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			x.walk(mv, path)
		}
	case *ast.MappingValueNode:
		key := strings.TrimSpace(n.Key.String())
		child := join(path, key)
		x.note(child, n.Key.GetToken())
		if n.Value != nil {
			x.note(child, n.Value.GetToken())
			x.walk(n.Value, child)
		}
	case *ast.SequenceNode:
		for i, item := range n.Values {
			child := fmt.Sprintf("%s[%d]", path, i)
			x.note(child, item.GetToken())
			x.walk(item, child)
		}
	case *ast.TagNode:
		if n.Value != nil {
			x.walk(n.Value, path)
		}
	case *ast.AnchorNode:
		if n.Value != nil {
			x.walk(n.Value, path)
		}
	}
}

// line returns the line of path, or of its nearest ancestor that is in the file; a top-level
// field that is not in the file is placed on line 1.
func (x *yamlIndex) line(path string) int {
	for path != "" {
		if l, ok := x.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

// pathAt returns the path of the key or value at line and column, or "".
func (x *yamlIndex) pathAt(line, col int) string {
	return x.paths[[2]int{line, col}]
}
