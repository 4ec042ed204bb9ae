// Package reports turns the results of a run into what people read: summary.json (a stable,
// versioned schema, see Summary), report.md (verdict first, then the comparison; for a CI step
// summary or a PR comment), report.html (one self-contained file with inline SVG charts: no
// CDN, nothing fetched at view time) and junit.xml (each check, each SLO, each required
// hazard minimum and each fault a test case). Every run shows its hazard coverage beside its
// checks: how often it created each hazard the checks guard against, the checks not exercised
// (rendered apart from a pass: skipped in junit.xml, with the reason) and any shortfall
// against the minimums the scenario declared, which leaves the verdict alone but makes
// `stampede run` exit 5.
//
// Every run says whether its load generator kept up (Generator) and where its time went
// (Attribution, with the limiting resource at a glance). When the generator was the
// bottleneck its SLO figures measured the generator as much as the target: an SLO that did
// not hold then is marked untrusted, and makes the run unknown rather than failed, in every
// file (correctness checks still fail a run).
//
// The runner fills a Summary; Write renders every file from it, and Load plus Write re-render a
// run directory (stampede report DIR).
package reports
