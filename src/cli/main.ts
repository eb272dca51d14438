/**
 * cli: the `pagevault` command. Dispatches to one module per subcommand (commands/*.ts),
 * which parse options and call the public API; all error reporting and exit codes live
 * here, so every command fails the same way: one line on stderr,
 * `pagevault: PAGEVAULT_ERR_<CODE>: <message>`, and a documented exit code.
 */
import { packageVersion } from '../util/package-version.js';
import { ErrorCodes, ExitCodes, isPagevaultError } from '../errors.js';
import { formatHelp, parseCommand, UsageError, type CommandSpec, type ParsedOptions } from './args.js';
import type { Io } from './io.js';
import * as backup from './commands/backup.js';
import * as demo from './commands/demo.js';
import * as exportCmd from './commands/export.js';
import * as generate from './commands/generate.js';
import * as importCmd from './commands/import.js';
import * as info from './commands/info.js';
import * as key from './commands/key.js';
import * as list from './commands/list.js';
import * as load from './commands/load.js';
import * as restore from './commands/restore.js';
import * as verify from './commands/verify.js';
import * as serve from './commands/serve.js';
import * as apikey from './commands/apikey.js';
import * as tasks from './commands/tasks.js';
import * as status from './commands/status.js';
import * as cancel from './commands/cancel.js';

interface Command {
  spec: CommandSpec;
  run(options: ParsedOptions, io: Io, positionals?: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = { backup, restore, verify, export: exportCmd, import: importCmd, list, serve, tasks, status, cancel, apikey, key, info, generate, load, demo };

/** globalHelp: `pagevault --help`. */
export function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'Usage: pagevault <command> [options]',
    '',
    'Online backup and restore for LMDB databases written with lmdb-js.',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
    '',
    'Run `pagevault <command> --help` for a command\'s options.',
    '',
    'Exit codes:',
    `  ${ExitCodes.OK}   success`,
    `  ${ExitCodes.FAILURE}   the operation failed; stderr has one line "pagevault: <CODE>: <message>"`,
    `  ${ExitCodes.USAGE}   bad command line (unknown command or option, missing or invalid value)`,
    `  130 interrupted (Ctrl-C); what was committed is kept, nothing half-written is left looking complete`,
    `  ${ExitCodes.INTERNAL}  internal error (a bug: please report it with the stack trace printed)`,
    '',
    'Error codes:',
    ...Object.values(ErrorCodes).map((c) => `  ${c}`),
  ].join('\n');
}

function makeIo(signal: AbortSignal): Io {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    stderr: process.stderr,
    signal,
  };
}

/** main: run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) process.stdout.write(`${formatHelp(COMMANDS[rest[0]].spec)}\n`);
    else process.stdout.write(`${globalHelp()}\n`);
    return name === undefined ? ExitCodes.USAGE : ExitCodes.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitCodes.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`pagevault: unknown command ${JSON.stringify(name)}; run \`pagevault --help\` for the list\n`);
    return ExitCodes.USAGE;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    // First signal: ask the operation to stop cleanly. Second: leave now.
    if (++interrupts > 1) process.exit(130);
    process.stderr.write(`\npagevault: ${sig}: stopping (press Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { options, help, positionals } = parseCommand(command.spec, rest);
    if (help) {
      process.stdout.write(`${formatHelp(command.spec)}\n`);
      return ExitCodes.OK;
    }
    if (positionals.length > 0 && !command.spec.positionals) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const code = await command.run(options, makeIo(controller.signal), positionals);
    return controller.signal.aborted && !command.spec.stopsOnSignal ? 130 : code;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`pagevault ${name}: ${err.message}; run \`pagevault ${name} --help\`\n`);
      return ExitCodes.USAGE;
    }
    if (isPagevaultError(err)) {
      process.stderr.write(`pagevault: ${err.code}: ${err.message}\n`);
      return controller.signal.aborted ? 130 : ExitCodes.FAILURE;
    }
    process.stderr.write(`pagevault: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCodes.INTERNAL;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
