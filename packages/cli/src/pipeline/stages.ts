// Resumable pipeline stages. Each stage records its result in `<workDir>/stages.json`
// (written atomically) once it has finished; a re-run with the same options skips
// finished stages, so Ctrl-C or a crash loses at most the stage in progress (and stages
// that are resumable themselves — data generation, labeling — lose less).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '@omnidistill/coco';
import { InputFileError } from '@omnidistill/core';

export interface StageRecord<T = unknown> {
  fingerprint: string;
  finishedAt: string;
  result: T;
}

interface StageFile {
  format: 'omnidistill-stages';
  version: 1;
  stages: Record<string, StageRecord>;
}

/** Parses stages.json; a damaged one is an InputFileError that says how to go on. */
function parseStageFile(path: string, text: string): StageFile {
  try {
    return JSON.parse(text) as StageFile;
  } catch (err) {
    throw new InputFileError(
      path,
      `${path}: not valid JSON (${(err as Error).message}); delete it and run the same command again: finished steps are redone or resumed from their own records`,
      { cause: err },
    );
  }
}

/** The stage book of one working directory. */
export class StageBook {
  /** Writes are chained so that stages finishing concurrently never lose each other's record. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly workDir: string,
    private readonly file: StageFile,
  ) {}

  static async open(workDir: string): Promise<StageBook> {
    await mkdir(workDir, { recursive: true });
    let file: StageFile = { format: 'omnidistill-stages', version: 1, stages: {} };
    const path = join(workDir, 'stages.json');
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const parsed = parseStageFile(path, text);
      if (parsed.format === 'omnidistill-stages' && parsed.version === 1) file = parsed;
    }
    return new StageBook(workDir, file);
  }

  /** The recorded result of a finished stage with this fingerprint, if any. */
  finished<T>(name: string, fingerprint: string): T | undefined {
    const rec = this.file.stages[name];
    return rec !== undefined && rec.fingerprint === fingerprint ? (rec.result as T) : undefined;
  }

  /**
   * Runs `fn` unless the stage already finished with the same fingerprint; records the
   * result atomically. `onSkip` is told when a stage is reused.
   */
  async run<T>(name: string, fingerprint: string, fn: () => Promise<T>, onSkip?: (name: string) => void): Promise<T> {
    const done = this.finished<T>(name, fingerprint);
    if (done !== undefined) {
      onSkip?.(name);
      return done;
    }
    const result = await fn();
    this.file.stages[name] = { fingerprint, finishedAt: new Date().toISOString(), result };
    // Serialised when its turn comes, so the last write always holds every finished stage.
    this.writing = this.writing.then(() => {
      const text = `${JSON.stringify(this.file, null, 2)}\n`;
      return writeAtomically(join(this.workDir, 'stages.json'), (push) => push(text));
    });
    await this.writing;
    return result;
  }

  /** All finished stages (for the report). */
  all(): Readonly<Record<string, StageRecord>> {
    return this.file.stages;
  }
}
