// Package svgtest reads charts back for tests: it parses the SVG that package svg writes (or
// every chart of an HTML page) into elements that a test can query by tag and class, so that
// a test checks what a chart says (its labels, bands and colours) rather than its markup.
package svgtest

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Node is an element of a chart.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	// Text is the element's own character data (a text element's words).
	Text string `xml:",chardata"`
	Kids []Node `xml:",any"`
}

// Parse parses one chart, an <svg> element, checking that it is well-formed XML.
func Parse(markup string) (Node, error) {
	var root Node
	if err := xml.Unmarshal([]byte(markup), &root); err != nil {
		return Node{}, fmt.Errorf("parse chart: %w", err)
	}
	if root.XMLName.Local != "svg" {
		return Node{}, fmt.Errorf("parse chart: root is <%s>, want <svg>", root.XMLName.Local)
	}
	return root, nil
}

var svgElement = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// Charts parses every chart of an HTML page, in page order, keyed by nothing but order; use
// Title to tell them apart.
func Charts(page string) ([]Node, error) {
	var out []Node
	for _, m := range svgElement.FindAllString(page, -1) {
		n, err := Parse(m)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Attr is the value of the attribute name, "" when absent.
func (n Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Num is the attribute name as a number.
func (n Node) Num(name string) (float64, error) {
	v, err := strconv.ParseFloat(n.Attr(name), 64)
	if err != nil {
		return 0, fmt.Errorf("<%s %s=%q>: %w", n.XMLName.Local, name, n.Attr(name), err)
	}
	return v, nil
}

// Title is a chart's title (its aria-label).
func (n Node) Title() string { return n.Attr("aria-label") }

// Find lists, depth first, the elements named tag ("" for any) whose class list holds class
// ("" for any).
func (n Node) Find(tag, class string) []Node {
	var out []Node
	if (tag == "" || n.XMLName.Local == tag) && (class == "" || slices.Contains(strings.Fields(n.Attr("class")), class)) {
		out = append(out, n)
	}
	for _, k := range n.Kids {
		out = append(out, k.Find(tag, class)...)
	}
	return out
}

// Texts are the words of the text elements of class ("" for all), in order.
func (n Node) Texts(class string) []string {
	var out []string
	for _, t := range n.Find("text", class) {
		out = append(out, t.Text)
	}
	return out
}
