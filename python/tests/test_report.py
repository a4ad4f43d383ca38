"""python3 -m qeq report: tables, plots (skipped without matplotlib), progress, write-back."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch import nn  # noqa: E402

from qeq import report  # noqa: E402


def small_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 16, 1), nn.ReLU(), nn.Conv2d(16, 4, 1)).eval()
    with torch.no_grad():  # channels of very different ranges, as CLE is for
        model[0].weight.mul_(torch.logspace(-2, 1, 8).reshape(-1, 1, 1, 1))
        model[1].running_var.uniform_(0.5, 2)
    return model


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def reference_sqnr(w):
    """Per-tensor symmetric qint8 (scale max|w| / 127.5, as MinMaxObserver) in float64."""
    w = w.astype(np.float64)
    scale = np.float32(np.abs(w).max() / 127.5)
    q = np.clip(np.round(w / scale), -128, 127) * scale
    return 20 * np.log10(np.linalg.norm(w) / np.linalg.norm(w - q))


def test_module_report_tables_and_write_back(tmp_path, capsys):
    model = small_model()
    path = tmp_path / "model.pt"
    torch.save(model, path)
    out = tmp_path / "out"
    assert report.main([str(path), "-o", str(out), "--no-plots", "--input-shape", "1,3,8,8",
                        "--write", str(tmp_path / "eq.pt")]) == 0
    rows = read_csv(out / "report.csv")
    assert [r["layer"] for r in rows] == ["0", "3", "5"]
    assert (out / "report.md").read_text().count("\n") == 2 + len(rows)
    first = rows[0]
    assert float(first["ratio after"]) < float(first["ratio before"])
    # the fold's share, apart from the equalization's: the ranges once the batch norm is folded
    import qeq.torch as qt
    folded = qt.fuse_modules(small_model(), [["0", "1", "2"]])[0][0].weight.detach()
    ranges = (folded.flatten(1).max(1).values - folded.flatten(1).min(1).values).numpy()
    assert float(first["ratio folded"]) == pytest.approx(ranges.max() / ranges.min(), rel=1e-3)
    equalized = torch.load(tmp_path / "eq.pt")
    w = equalized[0].weight.detach().numpy()
    assert float(first["SQNR dB after"]) == pytest.approx(reference_sqnr(w), abs=0.02)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(equalized(x), model(x), rtol=1e-4, atol=1e-5)
    captured = capsys.readouterr()
    assert "1 chains, 0 triplets, 1 batch norms folded" in captured.out
    assert "\r" not in captured.err  # no progress bar when stderr is not a terminal
    assert [r["role"].split(";")[0] for r in rows] == [
        "chain 1, layer 1 of 3", "chain 1, layer 2 of 3", "chain 1, layer 3 of 3"]
    assert "high-bias absorption into 5: 3 had no batch norm" in rows[1]["role"]
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "chain 1, layer 2 of 3" in page


def test_npz_and_torchscript_report_weights_as_they_are(tmp_path):
    model = small_model()
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    np.savez(tmp_path / "w.npz", **weights)
    assert report.main([str(tmp_path / "w.npz"), "-o", str(tmp_path / "a"), "--no-plots",
                        "-q"]) == 0
    rows = read_csv(tmp_path / "a" / "report.csv")
    assert [r["layer"] for r in rows] == ["0.weight", "3.weight", "5.weight"]
    assert rows[0]["ratio after"] == ""
    torch.jit.script(model).save(str(tmp_path / "m.ts"))
    assert report.main([str(tmp_path / "m.ts"), "-o", str(tmp_path / "b"), "--no-plots",
                        "-q"]) == 0
    assert [r["layer"] for r in read_csv(tmp_path / "b" / "report.csv")] == \
        ["0.weight", "3.weight", "5.weight"]
    with pytest.raises(SystemExit, match="--write needs a module"):
        report.main([str(tmp_path / "w.npz"), "-o", str(tmp_path / "c"), "--write",
                     str(tmp_path / "x.npz")])
    with pytest.raises(SystemExit, match="no such file"):
        report.main([str(tmp_path / "missing.pt")])


def test_safetensors_report_and_write_back(tmp_path):
    from qeq._safetensors import load_safetensors, save_safetensors
    model = small_model()
    save_safetensors(tmp_path / "w.safetensors",
                     {k: v.numpy() for k, v in model.state_dict().items()})
    np.savez(tmp_path / "w.npz", **{k: v.numpy() for k, v in model.state_dict().items()})
    for name in ("w.safetensors", "w.npz"):
        assert report.main([str(tmp_path / name), "-o", str(tmp_path / name[2:]), "--no-plots",
                            "-q"]) == 0
    assert read_csv(tmp_path / "safetensors" / "report.csv") == \
        read_csv(tmp_path / "npz" / "report.csv")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(SystemExit, match="shorter than the 8-byte header"):
        report.main([str(tmp_path / "broken.safetensors")])
    # A module's folded and equalized weights written back as .safetensors.
    torch.save(model, tmp_path / "m.pt")
    assert report.main([str(tmp_path / "m.pt"), "-o", str(tmp_path / "m"), "--no-plots", "-q",
                        "--input-shape", "1,3,8,8", "--write",
                        str(tmp_path / "eq.safetensors")]) == 0
    assert report.main([str(tmp_path / "m.pt"), "-o", str(tmp_path / "m2"), "--no-plots", "-q",
                        "--input-shape", "1,3,8,8", "--write", str(tmp_path / "eq.pt")]) == 0
    written = load_safetensors(tmp_path / "eq.safetensors")
    expected = torch.load(tmp_path / "eq.pt").state_dict()
    assert sorted(written) == sorted(expected)
    for name, value in expected.items():
        assert written[name].dtype == value.numpy().dtype
        np.testing.assert_array_equal(written[name], value.numpy())


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_plots(tmp_path, fmt):
    pytest.importorskip("matplotlib", reason="python3-matplotlib is not installed")
    path = tmp_path / "model.pt"
    torch.save(small_model(), path)
    assert report.main([str(path), "-o", str(tmp_path), "--format", fmt, "-q",
                        "--input-shape", "1,3,8,8"]) == 0
    for layer in ("0", "3", "5"):
        assert (tmp_path / f"{layer}.{fmt}").stat().st_size > 1000


def test_torchvision_model(tmp_path, capsys):
    pytest.importorskip("torchvision", reason="python3-torchvision is not installed")
    assert report.main(["torchvision:resnet18", "-o", str(tmp_path), "--no-plots", "-q",
                        "--input-shape", "1,3,64,64"]) == 0
    assert "8 chains, 0 triplets, 20 batch norms folded" in capsys.readouterr().out
    rows = read_csv(tmp_path / "report.csv")
    assert len(rows) == 21  # every weighted layer, chained or not
    roles = {r["layer"]: r["role"] for r in rows}
    assert roles["layer1.0.conv1"] == "chain 1, layer 1 of 2"
    assert roles["layer1.0.conv2"].startswith("chain 1, layer 2 of 2 (the chain ends: residual")
    assert roles["layer1.0.conv1"] == "chain 1, layer 1 of 2"
    assert roles["conv1"].startswith("not chained: branch")


def test_int8_sqnr_before_and_after_on_qeq_kernels(tmp_path, capsys):
    """--calibration: the int8 model (PyTorch's FX quantization, run by qeq.torch.convert)
    against the float model, per tensor and per channel, before and after preparation."""
    model = small_model()
    path = tmp_path / "model.pt"
    torch.save(model, path)
    assert report.main([str(path), "-o", str(tmp_path / "o"), "--no-plots", "-q",
                        "--input-shape", "2,3,8,8", "--calibration", "2"]) == 0
    out = capsys.readouterr().out
    lines = {" ".join(l.split()[:2]): l for l in out.splitlines()
             if l.strip().startswith("per ")}
    assert set(lines) == {"per tensor", "per channel"}
    values = {k: [float(v) for v in l.replace("dB", "").split()[2:]] for k, l in lines.items()}
    assert all(10 < v < 80 for row in values.values() for v in row)
    # The "before" figure from PyTorch's own int8 model (same FX recipe, same inputs, run by
    # PyTorch under qnnpack, where it is exact): qeq's kernels give the same bits.
    import math
    from qeq.torch._models import generated_images
    from torch.ao.quantization import MinMaxObserver, QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    inputs = [generated_images(2, 8, 300 + i) for i in range(2)]
    qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8),
                      weight=MinMaxObserver.with_args(dtype=torch.qint8,
                                                      qscheme=torch.per_tensor_symmetric))
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        prepared = prepare_fx(small_model(), QConfigMapping().set_global(qconfig), (inputs[0],))
        for x in inputs:
            prepared(x)
        int8 = convert_fx(prepared)
        with torch.no_grad():
            signal = sum(float(model(x).double().pow(2).sum()) for x in inputs)
            noise = sum(float((model(x).double() - int8(x).double()).pow(2).sum())
                        for x in inputs)
    finally:
        torch.backends.quantized.engine = previous
    assert values["per tensor"][0] == pytest.approx(10 * math.log10(signal / noise), abs=0.01)
    assert "int8 output SQNR" in (tmp_path / "o" / "report.html").read_text()
    assert "| per tensor |" in (tmp_path / "o" / "report.md").read_text()
    # Per layer: each weighted layer's int8 output against the FX-fused float model's, the
    # "before" column checked on PyTorch's own int8 model (exact under qnnpack) here.
    rows = {r["layer"]: r for r in read_csv(tmp_path / "o" / "report.csv")}
    assert set(rows) == {"0", "3", "5"}
    from torch.ao.quantization.quantize_fx import fuse_fx
    fused = fuse_fx(small_model())
    torch.backends.quantized.engine = "qnnpack"
    try:
        with torch.no_grad():
            for name in rows:
                outs = {}
                handles = [m.get_submodule(name).register_forward_hook(
                    lambda mod, a, out, key=key: outs.setdefault(key, []).append(
                        (out.dequantize() if out.is_quantized else out).double()))
                    for key, m in (("float", fused), ("int8", int8))]
                for x in inputs:
                    fused(x)
                    int8(x)
                for h in handles:
                    h.remove()
                signal = sum(float(f.pow(2).sum()) for f in outs["float"])
                noise = sum(float((f - q).pow(2).sum())
                            for f, q in zip(outs["float"], outs["int8"]))
                want = 10 * math.log10(signal / noise)
                got = float(rows[name]["int8 output SQNR dB before"])
                assert got == pytest.approx(want, abs=0.01), name
                assert 5 < float(rows[name]["int8 output SQNR dB after"]) < 80
    finally:
        torch.backends.quantized.engine = previous


def test_command_line(tmp_path):
    torch.save(small_model(), tmp_path / "m.pt")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-m", "qeq", "report", str(tmp_path / "m.pt"), "-o",
                           str(tmp_path), "--no-plots", "-q", "--input-shape", "1,3,8,8"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 layers" in done.stdout and (tmp_path / "report.md").exists()
    usage = subprocess.run([sys.executable, "-m", "qeq"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_html_page_in_a_real_browser(tmp_path):
    """The page and its plots render in headless Chromium (skipped where it is absent; CI
    does not install it): the screenshot is written and not blank."""
    import shutil
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:
        pytest.skip("Chromium is not installed: the page was not checked in a browser")
    pytest.importorskip("matplotlib")
    model = small_model()
    torch.save(model, tmp_path / "model.pt")
    assert report.main([str(tmp_path / "model.pt"), "-o", str(tmp_path / "o"), "-q",
                        "--input-shape", "1,3,8,8"]) == 0
    shot = tmp_path / "page.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=1200,1600",
                    (tmp_path / "o" / "report.html").as_uri()], check=True, timeout=120,
                   capture_output=True)
    assert shot.stat().st_size > 10_000
