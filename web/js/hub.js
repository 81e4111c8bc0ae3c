// The page's Hub client: fetches from the Hugging Face Hub what calc/hub.py reads, the same fields
// the command line sends (calc/cli.py hub_request, calc/hubfetch.py).  Only on request (app.js calls
// fetchHub when the person presses "Fetch from the Hub" or opens a link naming a Hub model).
//
//   1. GET <endpoint>/api/models/<repo>/revision/<rev>: the file list and the commit sha; the core
//      reads it (op "hub") into config, index, safetensors shards and GGUF files;
//   2. at that commit, <endpoint>/<repo>/resolve/<sha>/<file>: config.json and
//      model.safetensors.index.json whole; of each safetensors shard two Range reads (8 bytes, then
//      the header's JSON); of a GGUF file Range reads grown while the core says it needs more (op "gguf").
//
// Each request is a plain GET with at most one Range header, no cookies (credentials "omit") and no
// referrer; the Hub's redirect of a large file to its CDN is followed by fetch().  A token, when given,
// goes as "Authorization: Bearer" to the endpoint (browsers drop it on a redirect to another origin);
// it lives only in the caller's memory.  The endpoint is a build option (build.py --hub-endpoint).
import { base64 } from "./fmt.js";

export const FIRST_GGUF_READ = 1 << 20; // bytes of a GGUF file read first (calc/hubfetch.py FIRST_GGUF_READ)
const MAX_HEADER_BYTES = 20 * 2 ** 20; // all headers of one model (calc/request.py MAX_GGUF_BYTES)
const MAX_SHARDS = 4096; // files of one checkpoint (calc/hub.py MAX_SHARDS)

/** A fetch that failed: `message` names what failed and why, in the page's language. */
export class HubError extends Error {}

/** The Hub's URL of a file of a repo at a revision (calc/hub.py file_url). */
export function fileUrl(endpoint, repo, revision, file) {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

/** The model API's URL for a revision (calc/hub.py api_url). */
export function apiUrl(endpoint, repo, revision) {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}

/** The shard files model.safetensors.index.json names, each once, in name order (calc/hub.py index_shards). */
export function indexShards(index) {
  const map = index && typeof index === "object" ? index.weight_map : null;
  if (!map || typeof map !== "object") return null;
  return [...new Set(Object.values(map).filter((v) => typeof v === "string"))].sort();
}

/**
 * Fetch what an estimate of a Hub model needs.  ref: {repo, revision, file} as the core normalised it
 * (op "hub"); call(op, payload): the core through the worker; t(key, params): the page's strings;
 * progress(text): what is being fetched.  Returns {listing, fields}: the core's reading of the file
 * list, and the request fields (hub with the commit, and config + safetensors or gguf + gguf_name),
 * or fields null when the repo holds only GGUF files and none was chosen.
 */
export async function fetchHub({ endpoint, ref, token, mmproj = "", call, t, progress }) {
  const { repo, revision } = ref;
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const what = { list: t("hub.what_list", { repo, revision }) };
  const fileWhat = (file) => t("hub.what_file", { repo, file });

  async function get(url, label, range = null) {
    const headers = { ...auth };
    if (range) headers.Range = `bytes=${range[0]}-${range[1]}`;
    let response;
    try {
      response = await fetch(url, { headers, credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
    } catch {
      const host = new URL(url).host;
      throw new HubError(navigator.onLine === false ? t("hub.offline", { what: label }) : t("hub.network", { what: label, host }));
    }
    if (range && response.status === 416) return new Uint8Array(0); // past the end of the file
    if (!response.ok) {
      const status = response.status;
      const key = status === 401 ? (token ? "hub.http_401_token" : "hub.http_401")
        : [403, 404, 429].includes(status) ? `hub.http_${status}` : "hub.http_other";
      throw new HubError(t(key, { what: label, status }));
    }
    if (!range) return new Uint8Array(await response.arrayBuffer());
    const want = range[1] - range[0] + 1;
    if (response.status === 206) return new Uint8Array(await response.arrayBuffer()).subarray(0, want);
    // a server that ignored Range: read no more than the range's end, then stop
    const reader = response.body.getReader();
    const chunks = [];
    let have = 0;
    while (have < range[1] + 1) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      have += value.length;
    }
    reader.cancel().catch(() => {});
    return concat(chunks).subarray(range[0], range[1] + 1);
  }

  const json = async (url, label) => {
    try {
      return JSON.parse(new TextDecoder().decode(await get(url, label)));
    } catch (error) {
      if (error instanceof HubError) throw error;
      throw new HubError(t("hub.not_json", { what: label }));
    }
  };

  progress(t("hub.fetching_list", { repo, revision }));
  const list = await json(apiUrl(endpoint, repo, revision), what.list);
  const read = await call("hub", { hub: { repo, revision, file: ref.file || null }, hub_listing: list });
  if (!read.ok) throw new HubError(read.error.message);
  const listing = read.result;
  const sha = listing.sha || revision;
  const at = (file) => fileUrl(endpoint, repo, sha, file);
  const hub = { repo, revision, sha: listing.sha || null };
  const file = ref.file || null;

  if (file) {
    const choice = listing.gguf.find((g) => g.files.includes(file));
    if (!choice) throw new HubError(t("hub.no_file", { repo, revision, file }));
    const parts = choice.files;
    const name = parts[0].split("/").pop();
    progress(t("hub.fetching_file", { repo, file: name }));
    const bytes = await Promise.all(parts.map((p) => get(at(p), fileWhat(p), [0, FIRST_GGUF_READ - 1])));
    for (;;) {
      const answer = await call("gguf", { gguf: bytes.map(base64), gguf_name: name });
      if (!answer.ok) throw new HubError(`${fileWhat(parts[0])}: ${answer.error.message}`);
      if (answer.result.complete) {
        const fields = { hub: { ...hub, file: parts[0] }, gguf: answer.result.header, gguf_name: name };
        return { listing, fields: { ...fields, ...(await projector()) } };
      }
      const { part, needed_bytes: needed } = answer.result;
      if (needed > MAX_HEADER_BYTES) throw new HubError(t("hub.too_large", { what: fileWhat(parts[part]), mib: MAX_HEADER_BYTES / 2 ** 20 }));
      const more = await get(at(parts[part]), fileWhat(parts[part]), [bytes[part].length, needed - 1]);
      if (!more.length) throw new HubError(t("hub.truncated", { what: fileWhat(parts[part]) }));
      bytes[part] = concat([bytes[part], more]);
    }
  }
  if (!listing.config) {
    if (listing.gguf.length) return { listing, fields: null };
    throw new HubError(t("hub.no_model", { repo, revision }));
  }
  progress(t("hub.fetching_file", { repo, file: "config.json" }));
  const config = new TextDecoder().decode(await get(at("config.json"), fileWhat("config.json")));
  let shards = listing.safetensors;
  if (listing.index) {
    const shardList = indexShards(await json(at(listing.index), fileWhat(listing.index)));
    if (!shardList) throw new HubError(t("hub.not_json", { what: fileWhat(listing.index) }));
    shards = shardList;
  }
  if (shards.length > MAX_SHARDS) throw new HubError(t("hub.too_many", { what: t("hub.what_file", { repo, file: listing.index }), count: MAX_SHARDS }));
  const headers = [];
  let total = 0;
  for (const shard of shards) {
    progress(t("hub.fetching_file", { repo, file: shard }));
    const first = await get(at(shard), fileWhat(shard), [0, 7]);
    if (first.length < 8) throw new HubError(t("hub.truncated", { what: fileWhat(shard) }));
    const length = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
    if (length > BigInt(MAX_HEADER_BYTES - total)) throw new HubError(t("hub.too_large", { what: fileWhat(shard), mib: MAX_HEADER_BYTES / 2 ** 20 }));
    const n = Number(length);
    const rest = n ? await get(at(shard), fileWhat(shard), [8, 8 + n - 1]) : new Uint8Array(0);
    if (rest.length < n) throw new HubError(t("hub.truncated", { what: fileWhat(shard) }));
    total += 8 + n;
    headers.push(base64(concat([first, rest])));
  }
  const fields = { hub: { ...hub, file: null }, config };
  if (headers.length) fields.safetensors = headers;
  return { listing, fields: { ...fields, ...(await projector()) } };

  /** llama.cpp's mmproj file of the repo, when one was chosen: its header (the first MiB is more
   * than an mmproj's few hundred tensors take; the core says so if not). */
  async function projector() {
    if (!mmproj) return {};
    if (!listing.mmproj.includes(mmproj)) throw new HubError(t("hub.no_file", { repo, revision, file: mmproj }));
    progress(t("hub.fetching_file", { repo, file: mmproj }));
    const bytes = await get(at(mmproj), fileWhat(mmproj), [0, FIRST_GGUF_READ - 1]);
    return { mmproj: base64(bytes), mmproj_name: mmproj.split("/").pop() };
  }
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
