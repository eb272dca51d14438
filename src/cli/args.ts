/**
 * args: declarative command-line options on top of node:util's parseArgs, with typed
 * values, range checks and generated `--help` text, so every subcommand documents and
 * validates its options the same way. Bad input throws UsageError (exit code 2).
 */
import { parseArgs } from 'node:util';

/** UsageError: the command line is wrong; the CLI prints it with a pointer to --help. */
export class UsageError extends Error {
  readonly code = 'PAGEVAULT_ERR_USAGE';
}

type Kind = 'string' | 'int' | 'number' | 'boolean';

/** OptionSpec: one `--name VALUE` option. */
export interface OptionSpec {
  kind: Kind;
  /** One line for --help. */
  help: string;
  /** Placeholder shown in --help (`N`, `PATH`). */
  value?: string;
  required?: boolean;
  default?: string | number | boolean;
  min?: number;
  max?: number;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  short?: string;
  /** A string option that may be given several times; its value is then a string[]. */
  multiple?: boolean;
}

/** CommandSpec: a subcommand's synopsis, description and options. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  options: Record<string, OptionSpec>;
  examples?: string[];
  /** The command takes positional arguments (a sub-verb, a path); others refuse any. */
  positionals?: boolean;
  /** SIGINT/SIGTERM is the normal way to stop it (a server): it then exits 0, not 130. */
  stopsOnSignal?: boolean;
}

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined>;

/** parseCommand: parse `argv` (after the subcommand) against `spec`. `--help` sets `help: true`. */
export function parseCommand(spec: CommandSpec, argv: string[]): { options: ParsedOptions; positionals: string[]; help: boolean } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) config[name] = { type: o.kind === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
  if (parsed.values.help) return { options: {}, positionals: parsed.positionals, help: true };
  const options: ParsedOptions = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      if (o.required) throw new UsageError(`missing required option --${name}`);
      options[name] = o.default;
      continue;
    }
    options[name] = Array.isArray(raw) ? raw.map((r) => String(convert(name, o, r))) : convert(name, o, raw as string | boolean);
  }
  return { options, positionals: parsed.positionals, help: false };
}

function convert(name: string, o: OptionSpec, raw: string | boolean): string | number | boolean {
  if (o.kind === 'boolean') return raw === true;
  const text = String(raw);
  if (o.kind === 'string') {
    if (text.length === 0) throw new UsageError(`--${name} needs a value`);
    if (o.choices && !o.choices.includes(text)) throw new UsageError(`--${name} must be one of ${o.choices.join(', ')} (got ${JSON.stringify(text)})`);
    return text;
  }
  // Accept 200000, 200_000 and 200k / 2m for counts.
  const m = /^(-?[0-9][0-9_]*(?:\.[0-9]+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(text)})`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(m[1].replace(/_/g, '')) * mult;
  if (o.kind === 'int' && !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a whole number (got ${JSON.stringify(text)})`);
  if (o.min !== undefined && n < o.min) throw new UsageError(`--${name} must be at least ${o.min} (got ${text})`);
  if (o.max !== undefined && n > o.max) throw new UsageError(`--${name} must be at most ${o.max} (got ${text})`);
  return n;
}

/** formatHelp: the --help text of a subcommand. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:');
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.kind === 'boolean' ? '' : ` ${o.value ?? 'VALUE'}`}${o.multiple ? ' …' : ''}`;
    const extra = [o.required ? 'required' : undefined, o.default !== undefined && o.kind !== 'boolean' ? `default ${String(o.default)}` : undefined, o.choices ? `one of: ${o.choices.join(', ')}` : undefined].filter(Boolean);
    return [flag, `${o.help}${extra.length ? ` (${extra.join('; ')})` : ''}`];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}  ${text}`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}
