"""compute_type = "auto": int8 only where CTranslate2 runs AVX-512 with VNNI (bench/asr_quality.py)."""

from __future__ import annotations

import pytest

from transcriber.backends import faster

VNNI = {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"}


@pytest.mark.parametrize(("flags", "isa", "forced", "expected"), [
    (VNNI, "auto", "", "int8"),  # AVX-512 VNNI: int8 matched float32 and was fastest
    ({"avx2", "fma"}, "auto", "", "float32"),  # AVX2 only: int8 saturates, float32 keeps plain's CER
    ({"avx2", "avx512f", "avx512bw", "avx512vl"}, "auto", "", "float32"),  # AVX-512 without VNNI
    (VNNI, "AVX2", "", "float32"),  # VNNI there, but the site forced AVX2
    (VNNI, "auto", "AVX2", "float32"),  # ... or CT2_FORCE_CPU_ISA did
    (VNNI, "default", "", "float32"),  # CTranslate2 left to choose: on AMD it takes AVX2
])
def test_auto_compute_type_follows_the_cpu(monkeypatch: pytest.MonkeyPatch, flags: set[str], isa: str,
                                           forced: str, expected: str) -> None:
    monkeypatch.setattr(faster, "cpu_flags", lambda: set(flags))
    if forced:
        monkeypatch.setenv("CT2_FORCE_CPU_ISA", forced)
    else:
        monkeypatch.delenv("CT2_FORCE_CPU_ISA", raising=False)
    assert faster.choose_compute_type("auto", isa) == expected


def test_an_explicit_compute_type_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faster, "cpu_flags", lambda: set())
    assert faster.choose_compute_type("int8") == "int8"
    assert faster.choose_compute_type("float32", "AVX512") == "float32"
