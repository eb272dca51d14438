/**
 * registry: a name ↔ numeric id table for algorithms recorded in backup headers
 * (compressors, ciphers). Backup headers store the numeric id, so restore never guesses
 * and a file written by a newer pagevault with an algorithm this one lacks is rejected
 * by id, not misread (STYLE habit 11, after kopia's `compression.RegisterCompressor`).
 *
 * Ids are part of the file format: once released, an id means the same algorithm forever.
 */

/** RegistryEntry: what every registered algorithm has: a stable header id and a name. */
export interface RegistryEntry {
  /** Stable numeric id written in backup headers; unique in its registry. */
  readonly id: number;
  /** Stable name used in options and shown by `readBackupHeader`; unique in its registry. */
  readonly name: string;
}

/**
 * Registry: algorithms of one family by id and by name. `register` throws on a duplicate
 * id or name, so two modules claiming one id fail at startup (module load), not when a
 * file is read. Lookups return `undefined` for unknown keys; callers choose the error
 * (an unknown option is an InvalidArgumentError, an unknown header id an
 * UnsupportedBackupError).
 */
export class Registry<T extends RegistryEntry> {
  readonly #family: string;
  readonly #byId = new Map<number, T>();
  readonly #byName = new Map<string, T>();

  constructor(family: string) {
    this.#family = family;
  }

  /** register: adds `entry`; throws Error on a duplicate id or name (a programming error). */
  register(entry: T): void {
    if (!Number.isInteger(entry.id) || entry.id < 0 || entry.id > 255) {
      throw new Error(`${this.#family} ${entry.name}: id ${entry.id} is not an integer in [0, 255]`);
    }
    const byId = this.#byId.get(entry.id);
    if (byId) throw new Error(`${this.#family} id ${entry.id} registered twice (${byId.name}, ${entry.name})`);
    if (this.#byName.has(entry.name)) throw new Error(`${this.#family} ${entry.name} registered twice`);
    this.#byId.set(entry.id, entry);
    this.#byName.set(entry.name, entry);
  }

  /** byId: the entry with header id `id`, or undefined. */
  byId(id: number): T | undefined {
    return this.#byId.get(id);
  }

  /** byName: the entry called `name`, or undefined. */
  byName(name: string): T | undefined {
    return this.#byName.get(name);
  }

  /** names: every registered name, in registration order. */
  names(): string[] {
    return [...this.#byName.keys()];
  }
}
