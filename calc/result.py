"""The typed answers of calc.api: every field of every answer is declared and documented here.

Each answer is a tree of named tuples (immutable, so a cached part can be shared safely); the one
function :func:`to_json` turns it into fresh plain dicts and lists at the boundary, so a caller who
edits an answer cannot change the next one.  Every field is always present: a field that does not
apply to a request is null (``fit`` without a GPU, ``kv_pool_bytes`` for an engine that grows its
cache on demand).  Numbers are bytes, tokens, parameters or seconds; units are chosen by whoever
displays them (calc/present.py for the page).

A field's documentation is the text of its ``Annotated`` type; :func:`fields` reads it back, and
tests/test_result.py checks that every field has some.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple, get_args, get_type_hints

SCHEMA = 1  # the version of the answers' shape, in every answer's "schema"

Bytes = int  # a size in bytes
Tokens = int


class Memory(NamedTuple):
    """A memory breakdown, summed over every GPU of the setup."""

    weights_bytes: Annotated[Bytes, "weights as stored in the chosen format, on GPUs"]
    kv_cache_bytes: Annotated[Bytes, "the KV cache (and recurrent state) the engine allocates"]
    activations_bytes: Annotated[Bytes, "activation peak or compute buffer of the engine"]
    overhead_bytes: Annotated[Bytes, "per-GPU runtime overhead: CUDA context, workspaces, graphs"]
    total_bytes: Annotated[Bytes, "the sum of the four parts"]


class GpuShare(NamedTuple):
    """What one GPU of the setup holds."""

    gpu_index: Annotated[int, "position of the GPU in the setup, from 0"]
    weights_bytes: Annotated[Bytes, "weights on this GPU"]
    kv_cache_bytes: Annotated[Bytes, "KV cache on this GPU"]
    activations_bytes: Annotated[Bytes, "activations on this GPU"]
    overhead_bytes: Annotated[Bytes, "runtime overhead on this GPU"]
    total_bytes: Annotated[Bytes, "the sum of this GPU's four parts"]
    capacity_bytes: Annotated[Bytes | None, "what the engine may use of this GPU; null without a GPU"]


class CurvePoint(NamedTuple):
    """One point of the memory-against-context chart (every GPU summed)."""

    context: Annotated[Tokens, "tokens per sequence"]
    weights_bytes: Annotated[Bytes, "weights"]
    kv_cache_bytes: Annotated[Bytes, "KV cache at this context"]
    activations_bytes: Annotated[Bytes, "activations at this context"]
    overhead_bytes: Annotated[Bytes, "runtime overhead"]
    total_bytes: Annotated[Bytes, "the sum of the four parts"]


class Range(NamedTuple):
    """The total moved by the largest errors measured against real runs of the engine."""

    low_bytes: Annotated[Bytes, "total with each part lowered by its largest measured error"]
    high_bytes: Annotated[Bytes, "total with each part raised by its largest measured error"]
    comparisons: Annotated[int, "how many measured comparisons the errors come from"]


class Fit(NamedTuple):
    """Whether the model fits the chosen GPUs; judged on the fullest GPU."""

    gpu: Annotated[str, "GPU id (calc/data/gpus.toml)"]
    gpu_name: Annotated[str, "the GPU's name"]
    gpus: Annotated[int, "how many of them"]
    capacity_bytes: Annotated[Bytes, "what the engine may use of one GPU"]
    used_bytes: Annotated[Bytes, "what the fullest GPU holds"]
    fits: Annotated[bool, "used_bytes <= capacity_bytes"]
    headroom_bytes: Annotated[Bytes, "capacity_bytes - used_bytes (negative: over by that much)"]


class Efficiency(NamedTuple):
    """The share of the roofline an engine reached in published measurements
    (calc/data/speed_efficiency.toml), the band calc/speed.py applies to the ceiling."""

    low: Annotated[float, "the smallest measured share of the ceiling"]
    high: Annotated[float, "the largest measured share of the ceiling"]
    runs: Annotated[int, "how many measurements the band comes from"]
    sources: Annotated[list, "the URLs of the threads the measurements are published in, in file order"]


class SpeedFit(NamedTuple):
    """An engine's speed on one GPU backend fitted to its published runs (calc/speed.py fit,
    calc/data/speed_efficiency.toml): what the estimate applies, and how far the runs lie from it."""

    backend: Annotated[str, '"CUDA", "ROCm", "Metal" or "Vulkan": the runs\' GPU backend']
    share: Annotated[float, "the fitted share of the bandwidth (decode) or of the dense BF16 FLOPS (prefill)"]
    layer_seconds: Annotated[float, "decode: the fitted fixed time per layer and step, seconds (0: the share alone)"]
    low: Annotated[float, "the smallest measured / fitted speed over the runs"]
    high: Annotated[float, "the largest measured / fitted speed over the runs"]
    median_error: Annotated[float, "the median |measured / fitted - 1| over the runs"]
    runs: Annotated[int, "how many measurements the fit rests on"]
    sources: Annotated[list, "the URLs of the threads the measurements are published in, in file order"]


class Speed(NamedTuple):
    """Speed estimates on the chosen GPUs: the roofline ceilings, and the ranges real engines reach
    (the ceiling times the measured band of the engine; null for an engine without measurements)."""

    decode_tokens_per_s: Annotated[
        float | None, "decode ceiling in tokens per second, all sequences together (the roofline); null without a GPU"
    ]
    decode_tokens_per_s_per_sequence: Annotated[float | None, "decode ceiling in tokens per second of one sequence"]
    prefill_seconds: Annotated[
        float | None, "seconds to prefill the whole context of every sequence at full FLOPS (a lower bound); null without FLOPS"
    ]
    basis: Annotated[str, '"roofline": weights and KV read once per step at full bandwidth']
    decode_range_tokens_per_s: Annotated[
        list | None, "[low, high] decode tokens per second, all sequences together; null without a GPU or measurements"
    ]
    decode_range_tokens_per_s_per_sequence: Annotated[list | None, "[low, high] decode tokens per second of one sequence"]
    prefill_range_seconds: Annotated[
        list | None, "[low, high] seconds to prefill the whole context of every sequence; null without FLOPS or measurements"
    ]
    decode_efficiency: Annotated[
        SpeedFit | None, "the engine's decode fit on the GPU's backend; null where no published run covers it"
    ]
    prefill_efficiency: Annotated[
        SpeedFit | None, "the engine's prefill fit on the GPU's backend; null where no published run covers it"
    ]
    backend: Annotated[str | None, 'the GPU backend the estimate assumes ("CUDA", "ROCm", "Metal"); null without a GPU']
    checked: Annotated[bool, "whether published runs of this engine on this backend check the decode estimate"]
    decode_estimate_tokens_per_s: Annotated[
        float | None, "decode tokens per second of all sequences from the fit; null where not checked"
    ]
    decode_estimate_tokens_per_s_per_sequence: Annotated[float | None, "decode tokens per second of one sequence from the fit"]


class DeviceMemory(NamedTuple):
    """What one device of your machine holds for this run: a GPU, or the system RAM (kind "ram")."""

    device: Annotated[str, "llama.cpp's device name: CUDA0, ROCm0, MTL0, ... or CPU for the system RAM"]
    id: Annotated[str | None, "catalog GPU id; null for a GPU given by size or for the RAM"]
    name: Annotated[str, "what the device is"]
    kind: Annotated[str, '"gpu" or "ram"']
    weights_bytes: Annotated[Bytes, "model buffer: weights on this device (the RAM: CPU_Mapped, mmap)"]
    kv_cache_bytes: Annotated[Bytes, "KV cache of the layers whose KV lives here"]
    compute_bytes: Annotated[Bytes, "compute buffer (GPU: with weights copied in for offloaded products)"]
    overhead_bytes: Annotated[Bytes, "runtime overhead (CUDA context); 0 for the RAM"]
    total_bytes: Annotated[Bytes, "the sum of the four parts"]
    capacity_bytes: Annotated[
        Bytes | None,
        "what may be used: the GPU's usable bytes, the RAM's size (unified: what the GPU leaves); null: RAM size not given",
    ]
    fits: Annotated[bool | None, "total_bytes <= capacity_bytes; null when the capacity is unknown"]
    mapped_bytes: Annotated[
        Bytes | None,
        "llama.cpp's RAM with mmap (the default): the file range mapped for the host tensors, printed as the "
        "CPU_Mapped model buffer: from the first to the last host tensor in file order, GPU tensors between "
        "included (address space the page cache fills at load and may drop; weights_bytes is what the host "
        "reads); null for a GPU and for other engines",
    ] = None


class OverrideHit(NamedTuple):
    """One tensor buffer override (-ot, --cpu-moe, --n-cpu-moe) and what it moved."""

    pattern: Annotated[str, "the regex, searched in each tensor name (std::regex_search)"]
    device: Annotated[str, "where the matched tensors go"]
    flag: Annotated[str, '"override_tensor", "cpu_moe" or "n_cpu_moe": which setting made it']
    tensors: Annotated[int, "tensors it matched (a tensor matched by an earlier override is not counted)"]
    bytes: Annotated[Bytes, "their bytes"]


class Placement(NamedTuple):
    """Where llama.cpp puts the model (src/llama-model.cpp load_tensors, calc/offload.py)."""

    n_gpu_layers: Annotated[int, "layers on GPUs, the output layer counted (-ngl, at most n_layer + 1)"]
    layers: Annotated[dict, "device name -> [first, last] runs of repeating layers it holds"]
    output_device: Annotated[str, "device of the output layer (output.weight, output_norm)"]
    embeddings_device: Annotated[str, '"CPU": llama.cpp keeps the input layer (token_embd) on the host']
    expert_layers_on_cpu: Annotated[list, "[first, last] runs of GPU layers whose routed experts are in RAM"]
    kv_cache: Annotated[str, '"with each layer", or "CPU" with --no-kv-offload']
    tensor_split: Annotated[list, "each GPU's share of the layers (normalised; default by free memory)"]
    split_mode: Annotated[str, '"layer", "row" or "none"']
    overrides: Annotated[list[OverrideHit], "every tensor buffer override in llama.cpp's order"]


class FitPlan(NamedTuple):
    """The settings a planner chose for your machine (llama.cpp --fit, or vLLM's limits)."""

    engine: Annotated[str, "engine id"]
    goal: Annotated[
        str,
        '"layers" (keep the context, most on GPU) or "context" (llama.cpp: from the trained window down); vLLM: "max_model_len"',
    ]
    fits: Annotated[bool, "the chosen settings fit every device with the margin"]
    margin_bytes: Annotated[Bytes, "free memory kept on each GPU (llama.cpp --fit-target, 1 GiB)"]
    context: Annotated[Tokens, "tokens per sequence chosen (vLLM: --max-model-len)"]
    n_gpu_layers: Annotated[int | None, "llama.cpp -ngl chosen; null: every layer"]
    n_cpu_moe: Annotated[int, "llama.cpp --n-cpu-moe chosen"]
    cpu_moe: Annotated[bool, "every routed expert in RAM"]
    steps: Annotated[list, "what the planner did, in order, in English"]
    short_bytes: Annotated[Bytes | None, "when nothing fits: how many bytes are missing on short_device"]
    short_device: Annotated[str | None, "the device that is short; null when it fits"]


class OffloadSpeed(NamedTuple):
    """Speed of this placement: an estimate (roofline, with the engine's measured band as its range)."""

    decode_tokens_per_s: Annotated[
        float | None, "decode ceiling, all sequences: bytes read per step on each device over its bandwidth, summed"
    ]
    decode_range_tokens_per_s: Annotated[list | None, "[low, high]: the ceiling times the engine's measured decode band"]
    prefill_seconds: Annotated[
        float | None, "prefill of prefill_tokens per sequence: compute on the main GPU plus weights in RAM streamed over PCIe"
    ]
    prefill_range_seconds: Annotated[
        list | None, "[low, high]: the compute part over the measured prefill band, plus the streaming"
    ]
    prefill_transfer_seconds: Annotated[
        float | None, "of prefill_seconds, the weights in RAM copied to the GPU at the link's full bandwidth"
    ]
    prefill_tokens: Annotated[
        int | None,
        "the prompt of each sequence the prefill is for: prompt_tokens where given, never more than the run's "
        "context (the planner's where it chose one); null without a prefill estimate",
    ]
    gpu_bytes_per_step: Annotated[Bytes, "bytes the GPUs read per decode step (active experts only)"]
    host_bytes_per_step: Annotated[Bytes, "bytes the CPU reads from RAM per decode step"]
    basis: Annotated[str, '"roofline", or "unknown bandwidth" (a GPU given by size alone)']


class OffloadCommand(NamedTuple):
    """The command lines of the run the estimate describes."""

    llama_server: Annotated[str | None, "llama-server line (-m, -c, -np, -ngl, --n-cpu-moe / -ot, -ts, -fa, -ctk/-ctv, -ub)"]
    vllm_serve: Annotated[str | None, "vllm serve line"]
    transformers: Annotated[str | None, "a transformers snippet with device_map and max_memory"]


class Offload(NamedTuple):
    """Your machine: the run on the GPUs and RAM given (request field devices)."""

    per_device: Annotated[list[DeviceMemory], "memory per device, the GPUs in order and the system RAM last"]
    placement: Annotated[Placement | None, "llama.cpp: where layers, experts and KV go; null for other engines"]
    plan: Annotated[FitPlan | None, "what the planner chose (fit); null when the settings were given"]
    fits: Annotated[bool, "every device holds its part (RAM unchecked when its size is not given)"]
    speed: Annotated[OffloadSpeed, "speed of this run, an estimate"]
    command: Annotated[OffloadCommand, "the command to run it"]


class Recommendation(NamedTuple):
    """A GPU setup that holds the request, cheapest first (setups without a price last)."""

    gpu: Annotated[str, "GPU id"]
    name: Annotated[str, "the GPU's name"]
    vendor: Annotated[str, "the GPU's vendor"]
    segment: Annotated[str, "the GPU's market segment (consumer, workstation, datacenter, apple)"]
    capacity_bytes: Annotated[Bytes, "what the engine may use of one of them"]
    count: Annotated[int, "how many of them"]
    used_bytes: Annotated[Bytes, "what the fullest GPU holds"]
    headroom_fraction: Annotated[float, "share of the capacity left free on the fullest GPU"]
    price_usd: Annotated[float | None, "the price of the whole setup in US dollars; null when unknown"]


class Notice(NamedTuple):
    """Something the user should know about this request."""

    code: Annotated[str, "stable code (calc/data/messages/<lang>.toml [warning])"]
    params: Annotated[dict, "the message's parameters, by name (the code's own set)"]
    text: Annotated[str, "the message in the request's language"]


class FormatInfo(NamedTuple):
    id: Annotated[str, "weight format id (calc/data/formats.toml)"]
    label: Annotated[str, "the format's name"]
    bits_per_weight: Annotated[float, "weight bytes x 8 / parameters, as stored, to 3 decimals"]


class FormatSize(NamedTuple):
    """One weight format the engine loads, sized for this model (the format list's numbers)."""

    id: Annotated[str, "weight format id (calc/data/formats.toml)"]
    bits_per_weight: Annotated[float, "weight bytes x 8 / parameters, as stored, to 3 decimals"]
    weights_bytes: Annotated[Bytes, "every weight tensor in this format, as stored"]


class KvInfo(NamedTuple):
    id: Annotated[str, "KV-cache type id (calc/data/kv_types.toml), the engine default resolved"]
    label: Annotated[str, "the KV type's name"]


class EngineInfo(NamedTuple):
    id: Annotated[str, "engine id (calc/engines)"]
    label: Annotated[str, "the engine's name"]
    version: Annotated[str, "the release whose rules the answer follows (calc/data/engines.toml)"]
    settings: Annotated[dict, "the engine's own knobs, defaults filled in (its Settings in calc/engines/<engine>.py)"]


class Spec(NamedTuple):
    """A model's facts, from its config.json and official sources."""

    architecture: Annotated[str, '"dense", "moe", "hybrid" or "hybrid-moe"']
    attention: Annotated[str, "attention family: mha, gqa, mqa, mla, ..."]
    attention_layers: Annotated[dict, "layer count by kind (full, sliding, chunked, linear, mamba), kinds present only"]
    context_length: Annotated[Tokens, "the official context window, else max_position_embeddings"]
    max_position_embeddings: Annotated[Tokens, "config.json's max_position_embeddings"]
    layers: Annotated[int, "transformer layers"]
    hidden_size: Annotated[int, "hidden size"]
    attention_heads: Annotated[int, "query heads"]
    kv_heads: Annotated[int, "key/value heads (1 for MLA's shared latent)"]
    head_dim: Annotated[int, "dimension of one head"]
    vocab_size: Annotated[int, "vocabulary size"]
    intermediate_size: Annotated[int, "dense MLP width"]
    activation: Annotated[str, "MLP activation"]
    normalization: Annotated[str, "norm kind"]
    position_embedding: Annotated[str, "position encoding"]
    rope_scaling: Annotated[str | None, "RoPE scaling type, null without"]
    tied_embeddings: Annotated[bool, "the output head shares the embedding table"]
    dtype: Annotated[str, "the checkpoint's torch dtype"]
    sliding_window: Annotated[Tokens | None, "window of sliding-window layers; null without"]
    attention_chunk: Annotated[Tokens | None, "chunk of chunked-attention layers; null without"]
    experts_total: Annotated[int | None, "routed experts per MoE layer; null for a dense model"]
    experts_active: Annotated[int | None, "experts each token is routed to"]
    expert_intermediate_size: Annotated[int | None, "one expert's MLP width"]
    shared_expert_intermediate_size: Annotated[int | None, "the shared experts' MLP width"]
    kv_lora_rank: Annotated[int | None, "MLA latent rank; null without MLA"]
    qk_rope_head_dim: Annotated[int | None, "MLA rotary part of each head"]
    q_lora_rank: Annotated[int | None, "MLA query rank"]
    v_head_dim: Annotated[int | None, "MLA value head dimension"]
    checkpoint_quantization: Annotated[str | None, "quantization_config.quant_method of the checkpoint; null if none"]
    mtp_layers: Annotated[int | None, "multi-token-prediction layers; null if none"]
    license: Annotated[str | None, "license, from the official sources"]
    release_date: Annotated[str | None, "release date, from the official sources"]
    sources: Annotated[list, "URLs the facts come from"]


class ModelInfo(NamedTuple):
    """The model of a request."""

    id: Annotated[str | None, "catalog slug; null for a custom config"]
    repo: Annotated[str | None, "Hugging Face repo id"]
    name: Annotated[str, "display name"]
    family: Annotated[str | None, "family for grouping in pickers"]
    custom: Annotated[bool, "not from the catalog: a pasted config.json or a GGUF file"]
    source: Annotated[
        dict,
        'where the model came from: {"kind": "catalog"}, {"kind": "config"} (a pasted config.json), or {"kind": '
        '"gguf", "file": its name or null, "file_type": general.file_type\'s name ("Q4_K_M") or null, '
        '"architecture": general.architecture}, or {"kind": "hub", "repo", "revision", "sha" (or null), "file" (a GGUF '
        "file of the repo, with file_type and architecture; null for its safetensors checkpoint, with checkpoint_bytes, "
        "dtypes (bytes by safetensors dtype), tensors, files and tower_bytes (vision/audio towers) when headers were read)}",
    ]
    total_params: Annotated[int, "parameters counted from the config"]
    active_params: Annotated[int, "parameters each token uses (MoE: routed experts only)"]
    official_total_params: Annotated[int | None, "the vendor's total, if published"]
    official_active_params: Annotated[int | None, "the vendor's active count, if published"]
    official_total_text: Annotated[str | None, 'the vendor\'s total as written ("27B")']
    official_active_text: Annotated[str | None, "the vendor's active count as written"]
    spec: Annotated[Spec, "the model's facts"]


class Estimate(NamedTuple):
    """The answer of op "estimate" (and the input of op "view", calc/present.py)."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"estimate"']
    request: Annotated[dict, 'every request field, defaults filled in (calc/request.py Request); config shown as "custom"']
    model: Annotated[ModelInfo, "the model"]
    format: Annotated[FormatInfo, "the weight format"]
    kv_cache: Annotated[KvInfo, "the KV-cache type"]
    engine: Annotated[EngineInfo, "the engine and its settings"]
    memory: Annotated[Memory, "the breakdown, every GPU summed"]
    range: Annotated[Range | None, "the total's measured range; null for an engine without validation records"]
    kv_cache_bytes_per_token: Annotated[Bytes, "KV bytes one more token of one sequence costs, every GPU summed"]
    per_gpu: Annotated[list[GpuShare], "what each GPU holds (one entry without a GPU)"]
    fit: Annotated[Fit | None, "the verdict on the chosen GPUs; null without a GPU"]
    max_context: Annotated[
        Tokens | None, "the longest context that fits, at most max_context_limit; null without a GPU or if none fits"
    ]
    max_context_limit: Annotated[Tokens | None, "the model's own window, the most max_context reports; null without a GPU"]
    max_batch: Annotated[int | None, "the most sequences of this context that fit; null without a GPU"]
    best_format: Annotated[str | None, "the format with the most bits per weight that fits; null without a GPU or if none fits"]
    format_sizes: Annotated[list[FormatSize], "every format the engine loads, in catalog order, with its weights' size"]
    kv_capacity_tokens: Annotated[Tokens | None, "vLLM: tokens its KV pool holds; null for other engines or without a GPU"]
    max_concurrency: Annotated[float | None, "vLLM: sequences of this context its KV pool holds at once"]
    kv_pool_bytes: Annotated[Bytes | None, "vLLM: bytes of its KV pool on the tightest GPU"]
    speed: Annotated[Speed, "roofline speed"]
    recommendations: Annotated[
        list[Recommendation],
        "setups that hold the request, cheapest first, at most recommend_limit; empty without recommend",
    ]
    recommendations_total: Annotated[int, "how many setups hold it in all"]
    curve: Annotated[list[CurvePoint], "memory at 1k, 2k, ... 1M (on to a longer window) and the request's context; else empty"]
    warnings: Annotated[list[Notice], "what the user should know, in the request's language"]
    offload: Annotated[
        Offload | None, "your machine (devices given): per-device memory, placement, plan, speed and command; else null"
    ]


class ModelAnswer(NamedTuple):
    """The answer of op "model"."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"model"']
    model: Annotated[ModelInfo, "the model"]


class GgufAnswer(NamedTuple):
    """The answer of op "gguf": a GGUF file's header read, or how many more bytes it needs.  A
    caller reading a file in pieces (File.slice, HTTP Range) sends the first bytes of each part
    and, while complete is false, the first needed_bytes of part `part`."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"gguf"']
    complete: Annotated[bool, "the bytes held every header: model and header are filled in"]
    part: Annotated[int | None, "the part (from 0) whose bytes ended inside its header; null when complete"]
    needed_bytes: Annotated[int | None, "read this many bytes from the start of that part and ask again; null when complete"]
    header: Annotated[
        str | None,
        "the compact header, base64: the metadata and tensors an estimate reads (no vocabulary), to send as gguf "
        "in every estimate of this file instead of its megabytes; null until complete",
    ]
    model: Annotated[ModelInfo | None, "the model the file holds; null until complete"]


class HubAnswer(NamedTuple):
    """The answer of op "hub": a repo id or Hub URL normalised, and (with hub_listing) the files a
    loader reads from the repo; the caller fetches them (calc/hubfetch.py, the page) and sends
    config and safetensors, or gguf, with hub in an estimate."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"hub"']
    repo: Annotated[str, "the repo id, owner/name"]
    revision: Annotated[str, 'the branch, tag or commit (default "main")']
    file: Annotated[str | None, "the file the URL names (a .gguf), or null"]
    listed: Annotated[bool, "hub_listing was given: the fields below are filled in"]
    sha: Annotated[str | None, "the commit the listing is of, when the model API gives it"]
    gated: Annotated[bool, "the repo is gated: its files need a token of an account that accepted its terms"]
    config: Annotated[bool, "the repo has config.json at its root"]
    index: Annotated[str | None, 'the safetensors index ("model.safetensors.index.json"), or null']
    safetensors: Annotated[list, "the root's .safetensors files, in name order"]
    gguf: Annotated[
        list, "the GGUF models: quant (from the file name), files (a split model's parts in order), size (bytes or null)"
    ]
    mmproj: Annotated[list, "llama.cpp multimodal projector files (mmproj*.gguf)"]


class ViewAnswer(NamedTuple):
    """The answer of op "view"."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"view"']
    view: Annotated[dict, "the estimate as the page shows it, every word and number formatted (calc/present.py)"]


class CatalogAnswer(NamedTuple):
    """The answer of op "catalog": everything the page's form lists."""

    ok: Annotated[bool, "true"]
    schema: Annotated[int, "the answers' shape version"]
    op: Annotated[str, '"catalog"']
    defaults: Annotated[dict, "the request defaults (calc/request.py DEFAULTS)"]
    models: Annotated[list, "per catalog model: id, repo, name, family, context_length, architecture, total/active_params"]
    formats: Annotated[list, "weight formats: id, label, family, engines that load it"]
    kv_types: Annotated[list, "KV-cache types: id, label, engines that load it"]
    engines: Annotated[list, "engines: id, label, default_kv_cache, versions (id, label, source; newest first)"]
    gpus: Annotated[list, "GPUs: id, name, vendor, segment, memory/usable/bandwidth figures, price_usd, source"]


class Error(NamedTuple):
    code: Annotated[
        str,
        "bad_json, bad_request (not an object), unknown_field, bad_value (wrong type), out_of_range, "
        "unknown_<field> (model, quant, engine, ...), conflicting_fields, bad_config (config.json "
        "malformed or inconsistent), missing_field, bad_gguf (not a GGUF header this reads), truncated_gguf (the "
        "bytes end inside the header: op gguf says how many it needs), unsupported_gguf (an architecture or "
        "layout not read yet), incomplete_gguf (a split file's parts missing), or internal_error (a bug: still "
        "an answer)",
    ]
    field: Annotated[str | None, 'the request field at fault, dotted below config ("config.text_config.hidden_size") or null']
    message: Annotated[str, "what is wrong, in English, naming the field"]


class Failure(NamedTuple):
    """The answer to a request that cannot be answered."""

    ok: Annotated[bool, "false"]
    schema: Annotated[int, "the answers' shape version"]
    error: Annotated[Error, "what went wrong"]


ANSWERS = (Estimate, ModelAnswer, GgufAnswer, HubAnswer, ViewAnswer, CatalogAnswer, Failure)


def to_json(value):
    """An answer (or any part of one) as fresh JSON-ready data: named tuples become dicts in field
    order, lists and dicts are copied all the way down; numbers, text, booleans and null as they are."""
    cls = type(value)
    nested = _NESTED.get(cls)
    if nested is None:
        if cls is dict:
            return {k: v if type(v) in _SCALARS else to_json(v) for k, v in value.items()}
        if cls is list or cls is tuple:
            row = type(value[0]) if value else None
            if _NESTED.get(row) == ():  # rows of numbers and text (the curve, recommendations): one step
                names = row._fields
                return [dict(zip(names, v)) for v in value]  # noqa: B905 - rows of a declared width
            return [v if type(v) in _SCALARS else to_json(v) for v in value]
        if not hasattr(cls, "_fields"):
            return value
        nested = _NESTED[cls] = _nested_fields(cls)
    out = dict(zip(cls._fields, value))  # noqa: B905 - a named tuple has its fields
    for name in nested:
        v = out[name]
        if type(v) not in _SCALARS:
            out[name] = to_json(v)
    return out


_PLAIN = (int, float, str, bool, type(None))
_SCALARS = frozenset(_PLAIN)
_NESTED: dict = {}  # named tuple class -> the fields whose values need converting (a hot path)


def _nested_fields(cls) -> tuple[str, ...]:
    """The fields of `cls` that may hold something other than a number, text, boolean or null."""
    hints = get_type_hints(cls)
    return tuple(n for n in cls._fields if not all(a in _PLAIN for a in (get_args(hints[n]) or (hints[n],))))


def fields(cls) -> dict[str, str]:
    """A named tuple's fields and their documentation, in order."""
    hints = get_type_hints(cls, include_extras=True)
    return {name: " ".join(getattr(hints[name], "__metadata__", ())) for name in cls._fields}


def failure(code: str, field: str | None, message: str) -> dict:
    """The JSON of a Failure."""
    return to_json(Failure(False, SCHEMA, Error(code, field, message)))
