/**
 * The h2sc command table machinery: each subcommand is described once (synopsis, flags,
 * positionals) and that description drives argument parsing, `h2sc <cmd> --help` and the top
 * usage text. A subcommand added by another part (gateway, sidecar) is one more table entry.
 *
 * Parsing is strict and fails with one line that names the flag: unknown flags, a flag given
 * twice, a missing value, a value given to a boolean flag, too many or too few positionals.
 */

/**
 * An error h2sc reports as one `h2sc: ...` line, without a stack. Exit status 1 (a refusal or
 * failure at run time); {@link ArgumentError} is the exit-2 kind for bad arguments and files.
 */
export class CliError extends Error {
  override readonly name: string = 'CliError'
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

/** A bad flag, value, argument or file, found before the command does anything: exit status 2. */
export class ArgumentError extends CliError {
  override readonly name: string = 'ArgumentError'
  constructor(message: string) {
    super(message, 2)
  }
}

/** One `--flag` of a subcommand. */
export interface FlagSpec {
  /** Long name without the dashes: `'key-type'`. */
  readonly name: string
  /** `string` takes a value (`--ca FILE` or `--ca=FILE`); `boolean` takes none. */
  readonly type: 'string' | 'boolean'
  /** May be given more than once (values are collected in order). */
  readonly multiple?: boolean
  /** Placeholder of the value in help text: `FILE`, `N`, `LABEL:CERT:KEY`. */
  readonly value?: string
  /** Must be given. */
  readonly required?: boolean
  /** One line of help. */
  readonly help: string
}

/** One positional argument of a subcommand. */
export interface PositionalSpec {
  readonly name: string
  readonly help: string
  readonly required?: boolean
  /** Takes every remaining argument (must be last). */
  readonly variadic?: boolean
}

/** Parsed arguments: string flags as strings (or arrays for `multiple`), booleans as true. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>
  readonly positionals: readonly string[]
}

/** A subcommand: how it is described and how it runs. */
export interface CommandSpec {
  readonly name: string
  /** One line for the top usage text. */
  readonly summary: string
  /** Extra synopsis lines, for commands with modes (`conformance server URL ...`). */
  readonly synopsis?: readonly string[]
  readonly flags: readonly FlagSpec[]
  readonly positionals?: readonly PositionalSpec[]
  /** Paragraphs printed after the flags in `--help`. */
  readonly notes?: readonly string[]
  /**
   * `parsed`: the table parses the arguments and `run` gets {@link ParsedArgs}.
   * `raw`: `run` gets the arguments as given (the command parses them itself); `--help` is still
   * answered from this entry.
   */
  readonly parse?: 'parsed' | 'raw'
  /** Help text from elsewhere (a command that documents its own flags); default {@link commandHelp}. */
  readonly help?: () => Promise<string>
  run(args: ParsedArgs, raw: readonly string[]): Promise<number>
}

/** `--name VALUE` / `--name` as it appears in usage text. */
function flagWord(f: FlagSpec): string {
  return f.type === 'string' ? `--${f.name} ${f.value ?? 'VALUE'}` : `--${f.name}`
}

function positionalWord(p: PositionalSpec): string {
  const w = p.variadic ? `${p.name}...` : p.name
  return p.required ? w : `[${w}]`
}

/** The synopsis lines of a command: `h2sc serve --cert FILE ... [--port N]`. */
export function synopsis(c: CommandSpec): string[] {
  // Spaces inside one [...] group become no-break spaces so wrapping keeps the group whole.
  const keep = (line: string): string => line.replace(/\[[^\][]*\]/g, (g) => g.replace(/ /g, NBSP))
  if (c.synopsis) return c.synopsis.map((s) => keep(`h2sc ${c.name} ${s}`))
  // A no-break space keeps `[--flag VALUE]` together when the line is wrapped.
  const words = [
    ...(c.positionals ?? []).map(positionalWord),
    ...c.flags.filter((f) => f.required).map(flagWord),
    ...c.flags.filter((f) => !f.required).map((f) => `[${flagWord(f)}${f.multiple ? '...' : ''}]`),
  ].map((w) => w.replace(/ /g, NBSP))
  return [`h2sc ${c.name} ${words.join(' ')}`.trimEnd()]
}

const NBSP = '\u00a0'

/** Wraps words to `width` columns, continuation lines indented by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = []
  const lead = /^ */.exec(text)![0]
  let line = lead
  for (const word of text.slice(lead.length).split(' ')) {
    if (line.trim() && line.length + 1 + word.length > width) {
      out.push(line)
      line = indent + word
    } else {
      line = line.trim() || word === '' ? `${line} ${word}` : line + word
    }
  }
  if (line.trim()) out.push(line)
  return out
}

/** `h2sc <cmd> --help`: synopsis, positionals, every flag with its help line, notes. */
export function commandHelp(c: CommandSpec): string {
  const lines: string[] = []
  for (const s of synopsis(c)) lines.push(...wrap(`usage: ${s}`, 100, '         '))
  lines.push('', c.summary)
  const rows: [string, string][] = [
    ...(c.positionals ?? []).map((p): [string, string] => [p.name, p.help]),
    ...c.flags.map((f): [string, string] => [
      flagWord(f),
      `${f.help}${f.required ? ' (required)' : ''}${f.multiple ? ' (repeatable)' : ''}`,
    ]),
    ['-h, --help', 'print this help and exit'],
  ]
  const width = Math.min(28, Math.max(...rows.map(([k]) => k.length)) + 2)
  lines.push('')
  for (const [k, v] of rows) {
    const head = `  ${k.padEnd(width)}`
    const pad = ' '.repeat(head.length)
    lines.push(...wrap(k.length >= width ? `  ${k}` : head + v, 100, pad))
    if (k.length >= width) lines.push(...wrap(pad + v, 100, pad))
  }
  for (const n of c.notes ?? []) lines.push('', ...wrap(n, 100, ''))
  return lines.join('\n').replaceAll(NBSP, ' ')
}

/** The top usage text: every command's synopsis and summary, from the table. */
export function topUsage(commands: readonly CommandSpec[], footer: readonly string[] = []): string {
  const lines = ['usage: h2sc COMMAND [FLAGS]   (h2sc COMMAND --help for its flags)', '', 'commands:']
  const width = Math.max(...commands.map((c) => c.name.length)) + 2
  for (const c of commands) lines.push(...wrap(`  ${c.name.padEnd(width)}${c.summary}`, 100, ' '.repeat(width + 2)))
  lines.push('')
  for (const c of commands) {
    for (const s of synopsis(c)) lines.push(...wrap(`  ${s}`, 100, '      '))
  }
  for (const f of footer) lines.push('', ...wrap(f, 100, ''))
  return lines.join('\n').replaceAll(NBSP, ' ')
}

/** Whether the arguments ask for help (`-h`/`--help` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false
    if (a === '--help' || a === '-h') return true
  }
  return false
}

/**
 * Parses `args` against a command's flags and positionals.
 * @throws ArgumentError naming the offending flag or argument (one line)
 */
export function parseCommandArgs(c: CommandSpec, args: readonly string[]): ParsedArgs {
  const where = c.name
  const hint = `(see 'h2sc ${c.name} --help')`
  const flags = new Map(c.flags.map((f) => [f.name, f]))
  const values: Record<string, string | boolean | string[] | undefined> = {}
  const positionals: string[] = []
  let onlyPositionals = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (onlyPositionals || a === '-' || !a.startsWith('-')) {
      positionals.push(a)
      continue
    }
    if (a === '--') {
      onlyPositionals = true
      continue
    }
    if (!a.startsWith('--')) throw new ArgumentError(`${where}: unknown flag ${a} ${hint}`)
    const eq = a.indexOf('=')
    const name = a.slice(2, eq < 0 ? undefined : eq)
    const f = flags.get(name)
    if (!f) throw new ArgumentError(`${where}: unknown flag --${name} ${hint}`)
    let value: string | boolean
    if (f.type === 'boolean') {
      if (eq >= 0) throw new ArgumentError(`${where}: --${name} takes no value, got '${a.slice(eq + 1)}'`)
      value = true
    } else if (eq >= 0) {
      value = a.slice(eq + 1)
    } else {
      const next = args[i + 1]
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new ArgumentError(`${where}: --${name} needs a value (${f.value ?? 'VALUE'})`)
      }
      value = next
      i++
    }
    if (typeof value === 'string' && value === '') {
      throw new ArgumentError(`${where}: --${name} needs a non-empty value (${f.value ?? 'VALUE'})`)
    }
    if (f.multiple) {
      const list = (values[name] as string[] | undefined) ?? []
      list.push(value as string)
      values[name] = list
    } else {
      if (values[name] !== undefined) throw new ArgumentError(`${where}: --${name} given more than once`)
      values[name] = value
    }
  }
  for (const f of c.flags) {
    if (f.required && values[f.name] === undefined) {
      throw new ArgumentError(`${where} needs ${flagWord(f)} ${hint}`)
    }
  }
  const specs = c.positionals ?? []
  const variadic = specs.some((p) => p.variadic)
  specs.forEach((p, i) => {
    if (p.required && positionals[i] === undefined) throw new ArgumentError(`${where} needs ${p.name} ${hint}`)
  })
  if (!variadic && positionals.length > specs.length) {
    const extra = positionals[specs.length]!
    throw new ArgumentError(`${where}: unexpected argument '${extra.slice(0, 60)}' ${hint}`)
  }
  return { values, positionals }
}

/** The string value of a flag (undefined when absent). */
export function str(a: ParsedArgs, name: string): string | undefined {
  const v = a.values[name]
  return typeof v === 'string' ? v : undefined
}

/** The values of a repeatable flag, in order. */
export function list(a: ParsedArgs, name: string): readonly string[] {
  const v = a.values[name]
  return Array.isArray(v) ? (v as readonly string[]) : []
}

/** Whether a boolean flag was given. */
export function bool(a: ParsedArgs, name: string): boolean {
  return a.values[name] === true
}

/**
 * A non-negative integer flag within `[min, max]`.
 * @throws ArgumentError naming the flag
 */
export function intFlag(a: ParsedArgs, name: string, dflt: number, min: number, max: number, what = 'an integer'): number {
  const v = str(a, name)
  if (v === undefined) return dflt
  const n = /^\d+$/.test(v) ? Number(v) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ArgumentError(`--${name} must be ${what} from ${min} to ${max}, got '${v}'`)
  }
  return n
}
