/**
 * corpus: the text that generated documents are cut from, held as UTF-8 bytes.
 *
 * Realism requirement: a zstd level-3 export of a generated dataset should compress about
 * 3x-6x, like real JSON, not 30x. Text is words drawn from a Zipf-like distribution over a
 * vocabulary of 6,000 words (real English words, some accented, plus pseudo-words built
 * from syllables), with punctuation and capitals. Documents take random slices of one
 * large corpus: slicing is a byte copy, which keeps generation fast, and because the
 * corpus (8 MiB by default) is much larger than zstd level 3's 2 MiB window, slices
 * that are close together in the output are almost never close together in the corpus,
 * so a compressor sees word-level redundancy only, as in real text.
 *
 * Deterministic: the same seed builds the same corpus.
 */
import { Rng, mix32 } from './prng.js';
import { encodeUtf8, preEncode, type MsgpackWriter, type PreEncoded } from './msgpack-writer.js';

const COMMON_WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there been one all we their has would when if so no will more can out up about who them ' +
  'some could what into than its time only new other then do first any my now such like our over man me even ' +
  'most made after also did many before must through back years where much your way well down should because ' +
  'each just those people how too little state good very make world still own see men work long get here between ' +
  'both life being under never day same another know while last might us great old year off come since against ' +
  'go came right used take three system data order customer product shipping payment account invoice report ' +
  'market service network server storage backup restore database record document index query value price ' +
  'quality delivery address city country street number email phone support team project release version ' +
  'update change design review feature issue error warning status success failure request response client ' +
  'café naïve façade señor jalapeño smörgåsbord crème brûlée über déjà vu'
).split(' ');

const SYLLABLES = [
  'ka', 'lo', 'mi', 'ter', 'vas', 'en', 'ol', 'rin', 'dur', 'pa', 'sel', 'tor', 'ni', 'qua', 'ber', 'dan',
  'ex', 'fi', 'gar', 'hol', 'ist', 'jor', 'kel', 'lum', 'mor', 'nev', 'op', 'pre', 'rus', 'sta', 'tin', 'ul',
  'vir', 'wen', 'yo', 'zan', 'ar', 'el', 'is', 'on', 'ur', 'ch', 'th', 'sh', 'ble', 'tion', 'ment', 'ing',
];

/**
 * DEFAULT_CORPUS_BYTES: 8 MiB, 4x zstd level 3's window. Measured on 100,000 default-profile
 * documents, the zstd -3 ratio of the JSON export is 3.52 with a 16 MiB corpus, 3.68 with
 * 8 MiB and 3.99 with 4 MiB: 8 MiB keeps it realistic and halves the start-up build (~50 ms).
 */
export const DEFAULT_CORPUS_BYTES = 8 * 1024 * 1024;

/** Corpus: UTF-8 text and ways to copy random pieces of it into a MsgpackWriter. */
export interface Corpus {
  /** The whole corpus, UTF-8. */
  readonly bytes: Uint8Array;
  /** The vocabulary (plain strings), most frequent first. */
  readonly words: readonly string[];
  /** writeSlice: write a str of about [minLen, maxLen] bytes of text, cut at word boundaries. */
  writeSlice(w: MsgpackWriter, rng: Rng, minLen: number, maxLen: number): void;
  /** sliceText: the same as a JS string (for values that are also used as index keys). */
  sliceText(rng: Rng, minLen: number, maxLen: number): string;
  /** word: one word, with the corpus's word frequencies, as a JS string. */
  word(rng: Rng): string;
  /** wordEncoded: the same, pre-encoded as a msgpack str. */
  wordEncoded(rng: Rng): PreEncoded;
  /** wordBytes: the same as raw UTF-8 bytes (for beginStr/appendBytes). */
  wordBytes(rng: Rng): Uint8Array;
  /** asciiWordBytes: a word of only a-z, as bytes (for e-mail addresses). */
  asciiWordBytes(rng: Rng): Uint8Array;
}

function buildVocabulary(seed: number, size: number): string[] {
  const rng = new Rng(mix32(seed, 0x766f6361));
  const words = [...COMMON_WORDS];
  const seen = new Set(words);
  while (words.length < size) {
    const n = rng.int(1, 4);
    let w = '';
    for (let i = 0; i < n; i++) w += rng.pick(SYLLABLES);
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/** zipfTable: a 64Ki-entry lookup from a uniform uint16 to a word rank, frequency ∝ 1/(rank+2.7). */
function zipfTable(vocabSize: number): Uint16Array {
  let total = 0;
  for (let r = 0; r < vocabSize; r++) total += 1 / (r + 2.7);
  const table = new Uint16Array(65536);
  let r = 0;
  let acc = 1 / 2.7 / total;
  for (let i = 0; i < 65536; i++) {
    const u = (i + 0.5) / 65536;
    while (u > acc && r < vocabSize - 1) acc += 1 / (++r + 2.7) / total;
    table[i] = r;
  }
  return table;
}

/** buildCorpus: a deterministic corpus of about `size` bytes. */
export function buildCorpus(seed: number, size = DEFAULT_CORPUS_BYTES): Corpus {
  const vocab = buildVocabulary(seed, 6000);
  const table = zipfTable(vocab.length);
  const plain = vocab.map((w) => encodeUtf8(w));
  const capital = vocab.map((w) => encodeUtf8(w.charAt(0).toUpperCase() + w.slice(1)));
  const encoded = vocab.map((w) => preEncode(w));
  const asciiRanks = vocab.map((w, i) => (/^[a-z]+$/.test(w) ? i : -1)).filter((i) => i >= 0);
  const rng = new Rng(mix32(seed, 0x636f7270));
  // Every word, plain and capitalized, in one flat array: the build loop below copies
  // ~3 million words, and a flat copy loop is several times faster than per-word arrays.
  const flat = new Uint8Array(plain.reduce((a, w) => a + w.length, 0) + capital.reduce((a, w) => a + w.length, 0));
  const start = new Uint32Array(vocab.length * 2);
  const end = new Uint32Array(vocab.length * 2);
  let f = 0;
  [...plain, ...capital].forEach((w, i) => {
    start[i] = f;
    flat.set(w, f);
    f += w.length;
    end[i] = f;
  });
  const capitalBase = vocab.length;
  const bytes = Buffer.allocUnsafe(size + 256);
  let pos = 0;
  while (pos < size) {
    const sentenceLen = rng.int(4, 22);
    let w = capitalBase + table[rng.next() & 0xffff];
    for (let j = start[w], e = end[w]; j < e; j++) bytes[pos++] = flat[j];
    for (let i = 1; i < sentenceLen; i++) {
      // One draw per word: the low 16 bits pick the word, the high 16 the comma (6%).
      const r = rng.next();
      if (r >>> 16 < 3932) bytes[pos++] = 0x2c; // ','
      bytes[pos++] = 0x20;
      w = table[r & 0xffff];
      for (let j = start[w], e = end[w]; j < e; j++) bytes[pos++] = flat[j];
    }
    bytes[pos++] = rng.next() % 10 === 0 ? 0x3f : 0x2e; // '?' or '.'
    bytes[pos++] = 0x20;
  }
  const text = bytes.subarray(0, pos);
  const textLen = pos;

  // Cut [start, end) at word boundaries when one is near, and never inside a UTF-8 sequence.
  function cut(r: Rng, minLen: number, maxLen: number): number {
    const want = minLen >= maxLen ? minLen : r.int(minLen, maxLen);
    if (want <= 0) {
      cutEnd = 0;
      return 0;
    }
    let start = Math.floor(r.float() * (textLen - want - 64));
    const limit = Math.min(start + 16, textLen);
    for (let i = start; i < limit; i++) {
      if (text[i] === 0x20) {
        start = i + 1;
        break;
      }
    }
    while ((text[start] & 0xc0) === 0x80) start++;
    let end = start + want;
    for (let i = end, stop = Math.max(start + (want >> 1), end - 16); i > stop; i--) {
      if (text[i] === 0x20) {
        end = i;
        break;
      }
    }
    while (end > start && (text[end] & 0xc0) === 0x80) end--;
    cutEnd = end;
    return start;
  }
  let cutEnd = 0;

  return {
    bytes: text,
    words: vocab,
    writeSlice(w, r, minLen, maxLen) {
      const start = cut(r, minLen, maxLen);
      w.strBytes(text, start, Math.max(start, cutEnd));
    },
    sliceText(r, minLen, maxLen) {
      const start = cut(r, minLen, maxLen);
      return Buffer.from(text.buffer, text.byteOffset + start, Math.max(0, cutEnd - start)).toString('utf8');
    },
    word(r) {
      return vocab[table[r.next() & 0xffff]];
    },
    wordEncoded(r) {
      return encoded[table[r.next() & 0xffff]];
    },
    wordBytes(r) {
      return plain[table[r.next() & 0xffff]];
    },
    asciiWordBytes(r) {
      return plain[asciiRanks[r.next() % asciiRanks.length]];
    },
  };
}
