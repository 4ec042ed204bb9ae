// Package svg draws the charts of stampede's HTML report as inline SVG: no script, no fonts or
// styles fetched, one string per chart that a page embeds as it is. It knows nothing of runs or
// strategies; the reports package decides what to draw and in which colours.
//
// Three charts cover the report: Line (series over time on a linear or log axis, with labelled
// bands for fault windows and labelled rules for objectives), Bars (grouped horizontal bars, a
// category per row so that every category keeps its label, on a linear or log axis) and Stack
// (one bar per row split into shares, for outcome mixes). Every chart has a title and a
// legend, and names each category, band and rule in a text element, so a reader (and a test)
// finds them in the SVG itself.
//
// Axes are labelled at round values: multiples of 1, 2 or 5 x 10^k on a linear axis (Ticks),
// powers of ten, with 2 and 5 between them when the axis spans few decades, on a log axis
// (LogTicks), and seconds or minutes on a time axis (TimeTicks).
//
// The files: svg.go (the writer, escaping and text metrics), ticks.go (round ticks and their
// labels), scale.go (linear and log scales), legend.go (what the charts share: legends, axes,
// and the frame of labelled rows of Bars and Stack), line.go, bars.go and stack.go (the
// charts), and svgtest/ (reading charts back in tests).
package svg
