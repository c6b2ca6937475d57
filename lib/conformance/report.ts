/**
 * Results of the conformance tester and their two renderings: the text report other tools script
 * (one line per check, then the counts) and JUnit XML for CI systems.
 */

/** The implementation under test: a server (our raw client probes it) or a client. */
export type Side = 'server' | 'client'

/** One check as `h2sc conformance list` shows it. */
export interface CheckInfo {
  readonly side: Side
  readonly check: string
  /** The draft or RFC section the check enforces (digest http2-secondary-certs naming). */
  readonly section: string
  readonly description: string
}

/** One check's outcome. `skipped`: the peer did not advertise or support what the check needs. */
export interface ConformanceResult {
  readonly side: Side
  readonly check: string
  readonly section: string
  readonly result: 'pass' | 'fail' | 'skipped'
  /** What was seen (or why it was skipped). */
  readonly detail: string
  /** Wall time of the check. */
  readonly durationMs?: number
}

/** Counts of a run. */
export interface ConformanceCounts {
  readonly passed: number
  readonly failed: number
  readonly skipped: number
}

/** Counts the outcomes of `results`. */
export function countResults(results: readonly ConformanceResult[]): ConformanceCounts {
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const r of results) {
    if (r.result === 'pass') passed++
    else if (r.result === 'fail') failed++
    else skipped++
  }
  return { passed, failed, skipped }
}

/** `PASS|FAIL|SKIP  name  [section]  what was seen` for one result. */
export function formatResult(r: ConformanceResult, nameWidth = 0): string {
  const tag = r.result === 'pass' ? 'PASS' : r.result === 'fail' ? 'FAIL' : 'SKIP'
  return `${tag}  ${r.check.padEnd(nameWidth)}  [${r.section}]  ${r.detail.replace(/\s*\n\s*/g, ' ')}`
}

/** The text report: one line per check, then `N passed, N failed, N skipped`. */
export function formatResults(results: readonly ConformanceResult[]): string {
  const w = Math.max(0, ...results.map((r) => r.check.length))
  const c = countResults(results)
  return [...results.map((r) => formatResult(r, w)), `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`].join('\n')
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** XML 1.0 attribute/text escaping; characters XML 1.0 cannot carry become U+FFFD. */
function xml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch]!).replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(3)

/**
 * JUnit XML (the `testsuites > testsuite > testcase` shape Jenkins, GitLab and GitHub reporters
 * read): one testsuite per side, one testcase per check named after it with the section in
 * `classname`'s suffix-free form kept in a `system-out`; FAIL → `<failure>`, SKIP → `<skipped>`.
 */
export function toJUnit(results: readonly ConformanceResult[], timestamp: Date = new Date()): string {
  const sides = (['server', 'client'] as const).filter((s) => results.some((r) => r.side === s))
  const all = countResults(results)
  const total = results.reduce((n, r) => n + (r.durationMs ?? 0), 0)
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="h2sc conformance" tests="${results.length}" failures="${all.failed}" errors="0" skipped="${all.skipped}" time="${seconds(total)}">`,
  ]
  for (const side of sides) {
    const rs = results.filter((r) => r.side === side)
    const c = countResults(rs)
    const time = rs.reduce((n, r) => n + (r.durationMs ?? 0), 0)
    out.push(
      `  <testsuite name="h2sc conformance ${side}" tests="${rs.length}" failures="${c.failed}" errors="0" skipped="${c.skipped}" time="${seconds(time)}" timestamp="${timestamp.toISOString().replace(/\.\d+Z$/, '')}">`,
    )
    for (const r of rs) {
      const open = `    <testcase classname="h2sc.conformance.${side}" name="${xml(r.check)}" time="${seconds(r.durationMs)}">`
      out.push(open)
      if (r.result === 'fail') out.push(`      <failure message="${xml(r.detail)}" type="${xml(r.section)}">${xml(`[${r.section}] ${r.detail}`)}</failure>`)
      else if (r.result === 'skipped') out.push(`      <skipped message="${xml(r.detail)}"/>`)
      out.push(`      <system-out>${xml(`[${r.section}] ${r.detail}`)}</system-out>`)
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
