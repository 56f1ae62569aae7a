"""Rebuild an openai-whisper checkpoint from a CTranslate2 Whisper ``model.bin``.

openai-whisper loads ``{"dims": ..., "model_state_dict": ...}`` files only, and
none can be downloaded offline, while the model store holds the same weights
in CTranslate2's format. CTranslate2 fuses the self-attention Q, K and V
projections into one matrix and the cross-attention K and V into another;
openai-whisper keeps them apart, with no bias on the key projection, and ties
the output projection to the token embedding. The conversion is exact for
float16 and float32 sources: the tensors keep their values.

Usage: ``openai_checkpoint(model_dir)`` converts on first use and caches
``openai-whisper.pt`` next to ``model.bin``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import ModelFormatError, ModelNotFoundError

CHECKPOINT_NAME = "openai-whisper.pt"
_SOURCE_STAMP = CHECKPOINT_NAME + ".source.json"
# CTranslate2's DataType enum order (include/ctranslate2/types.h)
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_SUPPORTED_VERSIONS = (5, 6)


@dataclass
class CT2Model:
    """The variables of a CTranslate2 model file, by name, aliases resolved."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]


@dataclass
class WhisperDims:
    """openai-whisper's ``ModelDimensions``, derived from the tensor shapes."""

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


class _Reader:
    def __init__(self, data: memoryview, path: Path) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def take(self, size: int, what: str) -> memoryview:
        if self.pos + size > len(self.data):
            raise ModelFormatError(
                f"{self.path}: truncated at byte {self.pos} while reading {what} "
                f"(file has {len(self.data)} bytes); re-download or re-assemble the model"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint(self, fmt: str, what: str) -> int:
        value: int = struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]
        return value

    def string(self, what: str) -> str:
        length = self.uint("H", what)
        raw = bytes(self.take(length, what))
        if length == 0 or raw[-1] != 0:
            raise ModelFormatError(f"{self.path}: malformed {what} at byte {self.pos}; the file is corrupt")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelFormatError(f"{self.path}: {what} is not UTF-8 at byte {self.pos}; the file is corrupt") from exc


def _to_array(raw: memoryview, dtype_id: int, shape: list[int], name: str, path: Path) -> np.ndarray:
    if dtype_id >= len(_DTYPES):
        raise ModelFormatError(f"{path}: variable {name} has unknown dtype id {dtype_id}; the file is corrupt")
    dtype = _DTYPES[dtype_id]
    if dtype == "bfloat16":  # numpy has none: widen the 16 bits into float32's top half
        array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise ModelFormatError(f"{path}: variable {name} holds {array.size} values for shape {shape}; corrupt")
    return array.reshape(shape)


def read_ct2_model(path: Path) -> CT2Model:
    """Parse a CTranslate2 ``model.bin`` (binary versions 5 and 6)."""
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise ModelNotFoundError(f"{path}: cannot read the model file ({exc.strerror or exc})") from exc
    reader = _Reader(data, path)
    version = reader.uint("I", "the binary version")
    if version not in _SUPPORTED_VERSIONS:
        raise ModelFormatError(
            f"{path}: not a CTranslate2 model file of a supported version (found version {version}, "
            f"expected {' or '.join(map(str, _SUPPORTED_VERSIONS))}); re-convert it with ctranslate2>=3"
        )
    spec = reader.string("the model spec name")
    revision = reader.uint("I", "the spec revision")
    variables: dict[str, np.ndarray] = {}
    for index in range(reader.uint("I", "the variable count")):
        name = reader.string(f"the name of variable #{index}")
        shape = [reader.uint("I", f"the shape of {name}") for _ in range(reader.uint("B", f"the rank of {name}"))]
        dtype_id = reader.uint("B", f"the dtype of {name}")
        size = reader.uint("I", f"the byte size of {name}")
        variables[name] = _to_array(reader.take(size, f"the values of {name}"), dtype_id, shape, name, path)
    aliases: dict[str, str] = {}
    for _ in range(reader.uint("I", "the alias count")):
        alias = reader.string("an alias name")
        aliases[alias] = reader.string(f"the target of alias {alias}")
    if reader.pos != len(data):
        raise ModelFormatError(f"{path}: {len(data) - reader.pos} unexpected bytes after the model; corrupt")
    return CT2Model(spec=spec, revision=revision, variables=variables, aliases=aliases)


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    return max(indices) + 1 if indices else 0


def _scalar(variables: dict[str, np.ndarray], name: str, default: int) -> int:
    return int(variables[name].reshape(-1)[0]) if name in variables else default


def whisper_dims(model: CT2Model, path: Path) -> WhisperDims:
    v = model.variables
    needed = ("encoder/conv1/weight", "encoder/position_encodings/encodings",
              "decoder/position_encodings/encodings", "decoder/embeddings/weight")
    missing = [name for name in needed if name not in v or v[name].ndim < 2]
    if missing:
        raise ModelFormatError(f"{path}: missing tensor {missing[0]}; not a complete Whisper model")
    enc_pos, dec_pos, emb = (v["encoder/position_encodings/encodings"], v["decoder/position_encodings/encodings"],
                             v["decoder/embeddings/weight"])
    # every released Whisper uses 64-dimensional heads; CTranslate2 stores the count since spec revision 2
    return WhisperDims(
        n_mels=int(v["encoder/conv1/weight"].shape[1]),
        n_audio_ctx=int(enc_pos.shape[0]),
        n_audio_state=int(enc_pos.shape[1]),
        n_audio_head=_scalar(v, "encoder/num_heads", int(enc_pos.shape[1]) // 64),
        n_audio_layer=_layer_count(v, "encoder"),
        n_vocab=int(emb.shape[0]),
        n_text_ctx=int(dec_pos.shape[0]),
        n_text_state=int(dec_pos.shape[1]),
        n_text_head=_scalar(v, "decoder/num_heads", int(dec_pos.shape[1]) // 64),
        n_text_layer=_layer_count(v, "decoder"),
    )


def _state_dict(model: CT2Model, dims: WhisperDims, path: Path) -> dict[str, np.ndarray]:
    v = model.variables

    def get(name: str) -> np.ndarray:
        name = model.aliases.get(name, name)
        if name not in v:
            raise ModelFormatError(f"{path}: missing tensor {name}; not a complete Whisper model")
        return v[name]

    out: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str) -> None:
        out[f"{dst}.weight"], out[f"{dst}.bias"] = get(f"{src}/weight"), get(f"{src}/bias")

    def norm(dst: str, src: str) -> None:
        out[f"{dst}.weight"], out[f"{dst}.bias"] = get(f"{src}/gamma"), get(f"{src}/beta")

    def split(dst: str, src: str, parts: tuple[str, ...], d: int) -> None:
        weight, bias = get(f"{src}/weight"), get(f"{src}/bias")
        if weight.shape[0] != d * len(parts):
            raise ModelFormatError(f"{path}: {src}/weight has {weight.shape[0]} rows, expected {d * len(parts)}")
        for i, part in enumerate(parts):
            out[f"{dst}.{part}.weight"] = weight[i * d : (i + 1) * d]
            # CTranslate2 pads a zero key bias; dropping any key bias is exact anyway, since q.b_k
            # adds the same amount to every score of a query and softmax cancels it
            if part != "key":
                out[f"{dst}.{part}.bias"] = bias[i * d : (i + 1) * d]

    def block(dst: str, src: str, d: int, cross: bool) -> None:
        split(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"), d)
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            split(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"), d)
            linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    out["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    for i in range(dims.n_audio_layer):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", dims.n_audio_state, cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    out["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    out["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    for i in range(dims.n_text_layer):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", dims.n_text_state, cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    projection = get("decoder/projection/weight")
    if projection is not out["decoder.token_embedding.weight"] and not np.array_equal(
        projection, out["decoder.token_embedding.weight"]
    ):
        raise ModelFormatError(f"{path}: the output projection is not tied to the token embedding; "
                               "openai-whisper cannot represent this model")
    return out


def _check_convertible(model: CT2Model, path: Path) -> None:
    if model.spec != "WhisperSpec":
        raise ModelFormatError(f"{path}: a CTranslate2 {model.spec or 'unnamed'} model, not a Whisper model")
    quantized = sorted({str(a.dtype) for a in model.variables.values() if a.ndim == 2 and a.dtype.kind != "f"})
    if quantized:
        raise ModelFormatError(f"{path}: weights are quantized ({', '.join(quantized)}); convert from a float16 "
                               "or float32 CTranslate2 model (ct2-transformers-converter --quantization float16)")
    for flag in ("decoder/scale_embeddings", "decoder/alibi"):
        if _scalar(model.variables, flag, 0):
            raise ModelFormatError(f"{path}: {flag} is set, which openai-whisper's architecture does not have")


def _alignment_heads(model_dir: Path) -> list[list[int]]:
    config = model_dir / "config.json"
    if not config.exists():
        return []
    try:
        heads = json.loads(config.read_text(encoding="utf-8")).get("alignment_heads") or []
        return [[int(layer), int(head)] for layer, head in heads]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ModelFormatError(f"{config}: alignment_heads is not a list of [layer, head] pairs ({exc})") from exc


def convert(model_bin: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint for ``model_bin`` to ``out_path``, atomically."""
    import torch

    model_bin = Path(model_bin)
    model = read_ct2_model(model_bin)
    _check_convertible(model, model_bin)
    dims = whisper_dims(model, model_bin)
    state = {name: torch.from_numpy(array.copy()) for name, array in _state_dict(model, dims, model_bin).items()}
    checkpoint: dict[str, Any] = {
        "dims": asdict(dims),
        "model_state_dict": state,
        # load_model() ignores extra keys; the backend reads these for word timestamps
        "alignment_heads": _alignment_heads(model_bin.parent),
    }
    out_path = Path(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    except OSError as exc:
        raise ModelFormatError(f"{out_path}: cannot write the converted checkpoint ({exc}); "
                               "make the model folder writable") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(checkpoint, handle)
        os.replace(tmp_name, out_path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return out_path


def _source_stamp(model_bin: Path) -> dict[str, int]:
    stat = model_bin.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _default_out_dir(model_bin: Path) -> Path:
    if os.access(model_bin.parent, os.W_OK):
        return model_bin.parent
    # a model used in place from a read-only folder (a system-wide package): convert into the user cache
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "callqa" / "openai-whisper"
    return root / hashlib.sha1(str(model_bin.resolve()).encode()).hexdigest()[:16]


def openai_checkpoint(model_dir: Path, out_dir: Path | None = None) -> Path:
    """The openai-whisper checkpoint for the CTranslate2 model in ``model_dir``, converted on first use.

    The result is cached as ``openai-whisper.pt`` next to ``model.bin`` (or in ``out_dir``) and
    rebuilt when ``model.bin`` changes.
    """
    model_dir = Path(model_dir)
    model_bin = model_dir / "model.bin" if model_dir.is_dir() else model_dir
    if not model_bin.is_file():
        raise ModelNotFoundError(f"{model_bin}: no CTranslate2 model.bin there; resolve the model first "
                                 "(transcriber.models.resolve_model)")
    folder = Path(out_dir) if out_dir is not None else _default_out_dir(model_bin)
    out_path = folder / CHECKPOINT_NAME
    stamp_path = folder / _SOURCE_STAMP
    stamp = _source_stamp(model_bin)
    if out_path.exists() and stamp_path.exists():
        try:
            if json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
                return out_path
        except ValueError:
            pass  # a damaged stamp only costs a re-conversion
    convert(model_bin, out_path)
    tmp_stamp = stamp_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_stamp.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(tmp_stamp, stamp_path)
    return out_path
